//! CSV text made cell by cell, byte for byte as polars' CSV writer makes it, for the stories
//! report: at ten million stories, building its nine text columns for the writer to copy
//! again cost more than the rest of the writing.
//!
//! The rules are polars' (`QuoteStyle::Necessary`): a cell with `,`, `"`, `\n` or `\r` is
//! quoted, with each `"` doubled; an empty text is `""`; a null is nothing. Text cells are
//! guarded against formulas first ([`csv_safe`]) unless the set is written raw. Code columns
//! (names, windows, days, stages, outcomes) are encoded once per code, not once per row.
//! A slice of rows is done a column at a time (each cell's place in its code table, or its
//! number or text made), then copied out row by row: the kind of a column is matched once per
//! column, not once per cell.

use std::ops::Range;

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
        // Slack after the last cell, for the fixed-width copies of [`BlockCells::write_rows`].
        bytes.extend_from_slice(&[0; CELL]);
        CodeCells { first, bytes, ends }
    }

    /// Where the cell of `code` is in `bytes`, `(start, end)`.
    fn place(&self, code: i64) -> Option<(u32, u32)> {
        let i = usize::try_from(code - self.first).ok()?;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some((u32::try_from(start).ok()?, u32::try_from(end).ok()?))
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
    // On polars' pool whatever thread this is called from (the stories report's own, for
    // one): one pool of a thread per core (see [`crate::pool::on_polars_pool`]).
    crate::pool::on_polars_pool(|| {
        (0..df.height().div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let rows = b * BLOCK..((b + 1) * BLOCK).min(df.height());
                let mut out = Vec::with_capacity(rows.len() * 96);
                let mut cells = BlockCells::new(columns.len());
                let mut start = rows.start;
                while start < rows.end {
                    let stop = (start + SLICE).min(rows.end);
                    cells.fill(&columns, start..stop, guard)?;
                    cells.write_rows(&columns, &mut out);
                    start = stop;
                }
                Ok(out)
            })
            .collect()
    })
}

/// Rows encoded at a time: a column at a time into [`BlockCells`], then row by row into
/// the text. Small enough for the cells' places to stay in the processor's cache.
const SLICE: usize = 1 << 10;

/// `true` and `false`, as the places `0..4` and `4..9` (and slack, as every cell source has:
/// see [`CELL`]).
const BOOLS: &[u8] = b"truefalse\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// Cells up to this many bytes (nearly all: names, dates, numbers, codes) are copied as a
/// block of this size, which the compiler makes a pair of moves, and the text cut back to the
/// cell's end; longer ones by length. A call to copy each cell by its length was a third of
/// the time of writing ten million stories (a hundred million cells). Every source of cells
/// has this many bytes of slack after its last cell.
const CELL: usize = 16;

/// The cells of a slice of rows, column by column: each column's bytes (its code table's, or
/// the slice's own text) and each row's place in them.
struct BlockCells {
    /// Per column: the text made for this slice (numbers, plain text; empty for codes and
    /// booleans, whose bytes are their table's).
    made: Vec<Vec<u8>>,
    /// Per column, per row of the slice: `(start, end)` in the column's bytes.
    places: Vec<Vec<(u32, u32)>>,
}

impl BlockCells {
    fn new(width: usize) -> Self {
        BlockCells {
            made: vec![Vec::new(); width],
            places: vec![Vec::with_capacity(SLICE); width],
        }
    }

    /// The cells of `rows`, a column at a time (one match of the column's kind per column,
    /// not per cell).
    fn fill(&mut self, columns: &[Cells], rows: Range<usize>, guard: bool) -> PolarsResult<()> {
        let mut number = itoa::Buffer::new();
        for ((column, made), places) in columns.iter().zip(&mut self.made).zip(&mut self.places) {
            made.clear();
            places.clear();
            match column {
                Cells::Coded(table, codes) => {
                    for row in rows.clone() {
                        places.push(match codes.get(row) {
                            Some(code) => table.place(code).ok_or_else(|| {
                                PolarsError::OutOfBounds(format!("code {code} has no text").into())
                            })?,
                            None => (0, 0),
                        });
                    }
                }
                Cells::Number(values) => {
                    for row in rows.clone() {
                        let start = made.len() as u32;
                        if let Some(v) = values.get(row) {
                            made.extend_from_slice(number.format(v).as_bytes());
                        }
                        places.push((start, made.len() as u32));
                    }
                }
                Cells::Bool(values) => {
                    places.extend(rows.clone().map(|row| match values.get(row) {
                        Some(true) => (0, 4),
                        Some(false) => (4, 9),
                        None => (0, 0),
                    }));
                }
                Cells::Text(values) => {
                    for row in rows.clone() {
                        let start = made.len() as u32;
                        if let Some(t) = values.get(row) {
                            push_text(made, t, guard);
                        }
                        places.push((start, made.len() as u32));
                    }
                }
            }
            made.extend_from_slice(&[0; CELL]);
        }
        Ok(())
    }

    /// The filled rows as lines of text, added to `out`.
    fn write_rows(&self, columns: &[Cells], out: &mut Vec<u8>) {
        let sources: Vec<&[u8]> = columns
            .iter()
            .zip(&self.made)
            .map(|(column, made)| match column {
                Cells::Coded(table, _) => table.bytes.as_slice(),
                Cells::Bool(_) => BOOLS,
                Cells::Number(_) | Cells::Text(_) => made.as_slice(),
            })
            .collect();
        let rows = self.places.first().map_or(0, Vec::len);
        for row in 0..rows {
            for (j, (bytes, places)) in sources.iter().zip(&self.places).enumerate() {
                // Room for a comma and a whole block (the capacity grows by doubling, so this
                // rarely moves the text).
                out.reserve(1 + CELL);
                if j > 0 {
                    out.push(b',');
                }
                let (start, end) = (places[row].0 as usize, places[row].1 as usize);
                let block = bytes
                    .get(start..start + CELL)
                    .and_then(|b| <&[u8; CELL]>::try_from(b).ok());
                match block {
                    Some(block) if end - start <= CELL => {
                        let cell_end = out.len() + (end - start);
                        out.extend_from_slice(block);
                        out.truncate(cell_end);
                    }
                    _ => out.extend_from_slice(&bytes[start..end]),
                }
            }
            out.push(b'\n');
        }
    }
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
    fn every_kind_of_cell_keeps_its_row_across_slices() {
        // More rows than a slice holds, twice over, of every kind of cell, nulls among them
        // (an empty label is `""`, a null nothing).
        let n = 2 * SLICE + 7;
        let table = CodeCells::new(10, [Some("ten"), Some("a, b"), Some("")], false);
        let code: Vec<Option<i32>> = (0..n)
            .map(|i| (i % 5 != 4).then_some(10 + (i % 3) as i32))
            .collect();
        let flag: Vec<Option<bool>> = (0..n).map(|i| (i % 7 != 0).then_some(i % 2 == 0)).collect();
        let words: Vec<Option<String>> = (0..n)
            .map(|i| (i % 11 != 3).then(|| format!("t{i}{}", if i % 4 == 0 { ",x" } else { "" })))
            .collect();
        let number: Vec<Option<i64>> = (0..n)
            .map(|i| (i % 13 != 5).then_some(i as i64 - 9))
            .collect();
        let df =
            df!("code" => &code, "flag" => &flag, "text" => &words, "n" => &number).expect("df");
        let kinds = [
            CellKind::Coded(&table),
            CellKind::Plain,
            CellKind::Plain,
            CellKind::Plain,
        ];
        let got = text(encode_rows(&df, &kinds, false).expect("encode"));
        let mut want = String::new();
        for i in 0..n {
            let cells = [
                code[i]
                    .map_or("", |c| ["ten", "\"a, b\"", "\"\""][(c - 10) as usize])
                    .to_string(),
                flag[i].map_or(String::new(), |b| b.to_string()),
                words[i].as_deref().map_or(String::new(), |t| {
                    if t.contains(',') {
                        format!("\"{t}\"")
                    } else {
                        t.to_string()
                    }
                }),
                number[i].map_or(String::new(), |v| v.to_string()),
            ];
            want.push_str(&cells.join(","));
            want.push('\n');
        }
        assert_eq!(got, want);
    }

    #[test]
    fn cells_of_every_length_around_the_block_size_are_whole() {
        // Texts of 0 to 40 bytes (a block is 16), as plain cells and as a code table's, the
        // table's last (longest) cell read too, and the slice's last cell short.
        let words: Vec<String> = (0..=40usize)
            .map(|len| {
                (0..len)
                    .map(|i| char::from(b'a' + (i % 26) as u8))
                    .collect()
            })
            .collect();
        let table = CodeCells::new(0, words.iter().map(|w| Some(w.as_str())), false);
        let codes: Vec<i32> = (0..=40).rev().chain(0..=40).collect();
        let plain: Vec<&str> = codes.iter().map(|c| words[*c as usize].as_str()).collect();
        let mut df = df!("code" => &codes, "plain" => &plain).expect("df");
        let coded =
            encode_rows(&df, &[CellKind::Coded(&table), CellKind::Plain], false).expect("encode");
        // An empty text is `""` and so is the empty label: what polars writes for both.
        let mut want = df.clone();
        want.with_column(Column::new("code".into(), &plain))
            .expect("labels");
        assert_eq!(text(coded), polars_text(&mut want));
        let as_text = encode_rows(&df, &[CellKind::Plain, CellKind::Plain], false).expect("encode");
        assert_eq!(text(as_text), polars_text(&mut df));
    }

    #[test]
    fn rows_across_blocks_keep_their_order() {
        let n: i32 = (1 << 14) * 2 + 5;
        let mut df = df!("n" => (0..n).collect::<Vec<_>>()).expect("df");
        let ours = encode_rows(&df, &[CellKind::Plain], false).expect("encode");
        assert_eq!(text(ours), polars_text(&mut df));
    }
}
