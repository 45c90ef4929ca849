//! CSV text made cell by cell, byte for byte as polars' CSV writer makes it, for the stories
//! report: at ten million stories, building its nine text columns for the writer to copy
//! again cost more than the rest of the writing.
//!
//! The rules are polars' (`QuoteStyle::Necessary`): a cell with `,`, `"`, `\n` or `\r` is
//! quoted, with each `"` doubled; an empty text is `""`; a null is nothing. Text cells are
//! guarded against formulas first ([`csv_safe`]) unless the set is written raw. Code columns
//! (names, windows, days, stages, outcomes) are encoded once per code, not once per row.

use polars::prelude::*;
use rayon::prelude::*;

use super::output::csv_safe;

/// Appends the CSV cell of `text` (after the formula guard when `guard`).
pub fn push_text(out: &mut Vec<u8>, text: &str, guard: bool) {
    let text = if guard {
        csv_safe(text)
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        out.extend_from_slice(b"\"\"");
        return;
    }
    let quoted = memchr::memchr3(b',', b'\n', b'\r', bytes).is_some();
    let has_quote = memchr::memchr(b'"', bytes).is_some();
    if !quoted && !has_quote {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    for &b in bytes {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// The encoded cells of a table of codes: code `first + i` is `bytes[ends[i - 1]..ends[i]]`.
pub struct CodeCells {
    first: i64,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl CodeCells {
    /// The cells of `texts` for codes `first..`, guarded against formulas when `guard`.
    pub fn new<'a>(
        first: i64,
        texts: impl IntoIterator<Item = Option<&'a str>>,
        guard: bool,
    ) -> Self {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for text in texts {
            if let Some(t) = text {
                push_text(&mut bytes, t, guard);
            }
            ends.push(bytes.len());
        }
        CodeCells { first, bytes, ends }
    }

    fn cell(&self, code: i64) -> Option<&[u8]> {
        let i = usize::try_from(code - self.first).ok()?;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }
}

/// How one column of the table becomes text.
pub enum CellKind<'a> {
    /// A code column (integers) shown through a table of encoded cells.
    Coded(&'a CodeCells),
    /// As it is: integers as numbers, booleans as `true`/`false`, text guarded and quoted.
    Plain,
}

type Array<T> = <T as PolarsDataType>::Array;

/// Integers of one array, read by row.
enum Ints<'a> {
    U32(&'a Array<UInt32Type>),
    I32(&'a Array<Int32Type>),
    I64(&'a Array<Int64Type>),
}

impl Ints<'_> {
    fn get(&self, row: usize) -> Option<i64> {
        match self {
            Ints::U32(a) => a.get(row).map(i64::from),
            Ints::I32(a) => a.get(row).map(i64::from),
            Ints::I64(a) => a.get(row),
        }
    }
}

/// A column of one batch (in one chunk), ready to be written row by row.
enum Cells<'a> {
    Coded(&'a CodeCells, Ints<'a>),
    Number(Ints<'a>),
    Bool(&'a Array<BooleanType>),
    Text(&'a Array<StringType>),
}

fn is_integer(dtype: &DataType) -> bool {
    matches!(dtype, DataType::UInt32 | DataType::Int32 | DataType::Int64)
}

/// Whether every column of `df` can be written by [`encode_rows`] with these kinds: code
/// columns of `UInt32`, `Int32` or `Int64`; plain columns of those, booleans or text.
pub fn supported(df: &DataFrame, kinds: &[CellKind]) -> bool {
    df.width() == kinds.len()
        && df.columns().iter().zip(kinds).all(|(c, k)| match k {
            CellKind::Coded(_) => is_integer(c.dtype()),
            CellKind::Plain => {
                is_integer(c.dtype()) || matches!(c.dtype(), DataType::Boolean | DataType::String)
            }
        })
}

fn ints(column: &Column) -> PolarsResult<Ints<'_>> {
    Ok(match column.dtype() {
        DataType::UInt32 => Ints::U32(column.u32()?.downcast_as_array()),
        DataType::Int32 => Ints::I32(column.i32()?.downcast_as_array()),
        _ => Ints::I64(column.i64()?.downcast_as_array()),
    })
}

fn cells<'a>(column: &'a Column, kind: &CellKind<'a>) -> PolarsResult<Cells<'a>> {
    Ok(match kind {
        CellKind::Coded(table) => Cells::Coded(table, ints(column)?),
        CellKind::Plain => match column.dtype() {
            DataType::Boolean => Cells::Bool(column.bool()?.downcast_as_array()),
            DataType::String => Cells::Text(column.str()?.downcast_as_array()),
            _ => Cells::Number(ints(column)?),
        },
    })
}

/// Rows of `df` (of the [`supported`] kinds) as CSV text, one line each, without a header;
/// made in parallel blocks of rows, returned in order.
///
/// # Errors
/// A column of a type [`supported`] refuses, or a code with no cell in its table.
pub fn encode_rows(df: &DataFrame, kinds: &[CellKind], guard: bool) -> PolarsResult<Vec<Vec<u8>>> {
    if !supported(df, kinds) {
        return Err(PolarsError::ComputeError(
            "a column of this table cannot be written as CSV text".into(),
        ));
    }
    let mut df = df.clone();
    df.rechunk_mut();
    let columns: Vec<Cells> = df
        .columns()
        .iter()
        .zip(kinds)
        .map(|(c, k)| cells(c, k))
        .collect::<PolarsResult<_>>()?;
    const BLOCK: usize = 1 << 14;
    (0..df.height().div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let rows = b * BLOCK..((b + 1) * BLOCK).min(df.height());
            let mut out = Vec::with_capacity(rows.len() * 96);
            let mut number = itoa::Buffer::new();
            for row in rows {
                for (j, column) in columns.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    match column {
                        Cells::Coded(table, codes) => {
                            if let Some(code) = codes.get(row) {
                                let cell = table.cell(code).ok_or_else(|| {
                                    PolarsError::OutOfBounds(
                                        format!("code {code} has no text").into(),
                                    )
                                })?;
                                out.extend_from_slice(cell);
                            }
                        }
                        Cells::Number(values) => {
                            if let Some(v) = values.get(row) {
                                out.extend_from_slice(number.format(v).as_bytes());
                            }
                        }
                        Cells::Bool(values) => match values.get(row) {
                            Some(true) => out.extend_from_slice(b"true"),
                            Some(false) => out.extend_from_slice(b"false"),
                            None => {}
                        },
                        Cells::Text(values) => {
                            if let Some(t) = values.get(row) {
                                push_text(&mut out, t, guard);
                            }
                        }
                    }
                }
                out.push(b'\n');
            }
            Ok(out)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What polars' CSV writer makes of `df` (no header).
    fn text(blocks: Vec<Vec<u8>>) -> String {
        String::from_utf8(blocks.concat()).expect("utf8")
    }

    fn polars_text(df: &mut DataFrame) -> String {
        let mut buf = Vec::new();
        CsvWriter::new(&mut buf)
            .include_header(false)
            .finish(df)
            .expect("write");
        String::from_utf8(buf).expect("utf8")
    }

    #[test]
    fn text_cells_are_quoted_as_polars_quotes_them() {
        let texts = [
            Some("plain"),
            Some("a,b"),
            Some("say \"hi\""),
            Some("two\nlines"),
            Some("cr\rhere"),
            Some(""),
            None,
            Some("Ødegaard, Martin"),
            Some("'quoted'"),
        ];
        let mut df = df!("t" => texts, "n" => [Some(1i32), None, Some(-3), Some(40), Some(0), Some(7), None, Some(2), Some(9)])
            .expect("df");
        let ours = encode_rows(&df, &[CellKind::Plain, CellKind::Plain], false).expect("encode");
        assert_eq!(text(ours), polars_text(&mut df));
    }

    #[test]
    fn formulas_are_guarded_when_asked() {
        let df = df!("t" => ["=1+1", "-x", "-0.5", "@a,b"]).expect("df");
        let guarded = encode_rows(&df, &[CellKind::Plain], true).expect("encode");
        assert_eq!(text(guarded), "'=1+1\n'-x\n-0.5\n\"'@a,b\"\n");
        let raw = encode_rows(&df, &[CellKind::Plain], false).expect("encode");
        assert_eq!(text(raw), "=1+1\n-x\n-0.5\n\"@a,b\"\n");
    }

    #[test]
    fn codes_are_written_through_their_table_and_bools_and_nulls_as_polars_writes_them() {
        let table = CodeCells::new(10, [Some("ten"), Some("eleven, one more"), None], false);
        let df = df!(
            "code" => [Some(10i32), Some(11), None, Some(12)],
            "b" => [Some(true), Some(false), None, Some(true)],
        )
        .expect("df");
        let out =
            encode_rows(&df, &[CellKind::Coded(&table), CellKind::Plain], false).expect("encode");
        assert_eq!(
            text(out),
            "ten,true\n\"eleven, one more\",false\n,\n,true\n"
        );
        // A code outside the table is an error, not a blank.
        let bad = df!("code" => [13i32]).expect("df");
        assert!(encode_rows(&bad, &[CellKind::Coded(&table)], false).is_err());
    }

    #[test]
    fn rows_across_blocks_keep_their_order() {
        let n: i32 = (1 << 14) * 2 + 5;
        let mut df = df!("n" => (0..n).collect::<Vec<_>>()).expect("df");
        let ours = encode_rows(&df, &[CellKind::Plain], false).expect("encode");
        assert_eq!(text(ours), polars_text(&mut df));
    }
}
