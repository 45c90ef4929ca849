//! Typed access to a column, for the few places where values leave polars for plain Rust
//! (the model's matrices, the backtest's scores, small report tables), and the groupings done
//! by hand on such values (tables in pieces, key pairs, rows grouped by a dense id); and the
//! left join that keeps the left frame's order, which the scoring and the reports both use.
//!
//! Each function casts to the asked type first, so any integer or float column will do;
//! `*_or` variants replace nulls with a default, `opt_*` keep them.

use polars::prelude::*;

/// A left join that keeps the left frame's row order (polars does not, by default).
pub fn left_join_in_order() -> JoinArgs {
    let mut args = JoinArgs::new(JoinType::Left);
    args.maintain_order = MaintainOrderJoin::Left;
    args
}

pub fn opt_u32(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<u32>>> {
    let column = df.column(name)?.cast(&DataType::UInt32)?;
    Ok(opt_values(column.u32()?))
}

pub fn opt_u64(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<u64>>> {
    let column = df.column(name)?.cast(&DataType::UInt64)?;
    Ok(opt_values(column.u64()?))
}

pub fn opt_i32(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i32>>> {
    let column = df.column(name)?.cast(&DataType::Int32)?;
    Ok(opt_values(column.i32()?))
}

pub fn opt_i64(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i64>>> {
    let column = df.column(name)?.cast(&DataType::Int64)?;
    Ok(opt_values(column.i64()?))
}

pub fn opt_f64(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    let column = df.column(name)?.cast(&DataType::Float64)?;
    Ok(opt_values(column.f64()?))
}

/// The values of `ca` as options, chunk by chunk: a chunk without nulls value by value, one
/// with nulls beside its validity bits. (The chunked array's own iterator of options goes
/// through an iterator per chunk and costs several times more per value: these run over
/// whole tables of claims and stories.)
fn opt_values<T: PolarsNumericType>(ca: &ChunkedArray<T>) -> Vec<Option<T::Native>> {
    let mut out = Vec::with_capacity(ca.len());
    for chunk in ca.downcast_iter() {
        match chunk.validity().filter(|v| v.unset_bits() > 0) {
            None => out.extend(chunk.values().iter().map(|v| Some(*v))),
            Some(valid) => out.extend(
                chunk
                    .values()
                    .iter()
                    .zip(valid.iter())
                    .map(|(v, ok)| ok.then_some(*v)),
            ),
        }
    }
    out
}

/// The distinct values of `name` (nulls apart), ascending. A span of values up to a few
/// thousand wide (window ordinals, days) is marked in a table over it, one pass over the
/// column; a wider one goes to polars' `unique` (a million windows of the claims: 7 ms on one
/// thread through `unique`, 1.3 ms marked).
pub fn distinct_i32(df: &DataFrame, name: &str) -> PolarsResult<Vec<i32>> {
    /// The widest span marked in a table.
    const SPAN: i64 = 1 << 16;
    let column = df.column(name)?.cast(&DataType::Int32)?;
    let ca = column.i32()?;
    let (Some(min), Some(max)) = (ca.min(), ca.max()) else {
        return Ok(Vec::new());
    };
    if i64::from(max) - i64::from(min) >= SPAN {
        let mut values: Vec<i32> = ca.unique()?.iter().flatten().collect();
        values.sort_unstable();
        return Ok(values);
    }
    let mut seen = vec![false; (i64::from(max) - i64::from(min)) as usize + 1];
    let slot = |v: i32| (i64::from(v) - i64::from(min)) as usize;
    for chunk in ca.downcast_iter() {
        match chunk.validity().filter(|v| v.unset_bits() > 0) {
            None => chunk.values().iter().for_each(|v| seen[slot(*v)] = true),
            Some(valid) => chunk
                .values()
                .iter()
                .zip(valid.iter())
                .filter(|(_, ok)| *ok)
                .for_each(|(v, _)| seen[slot(*v)] = true),
        }
    }
    Ok((min..=max).filter(|v| seen[slot(*v)]).collect())
}

// The `*_or` variants read a column without nulls as its values, chunk by chunk, and only
// go value by value where there are nulls to replace.

pub fn u32_or(df: &DataFrame, name: &str, null: u32) -> PolarsResult<Vec<u32>> {
    let column = df.column(name)?.cast(&DataType::UInt32)?;
    Ok(values_or(column.u32()?, null))
}

pub fn i32_or(df: &DataFrame, name: &str, null: i32) -> PolarsResult<Vec<i32>> {
    let column = df.column(name)?.cast(&DataType::Int32)?;
    Ok(values_or(column.i32()?, null))
}

pub fn f64_or(df: &DataFrame, name: &str, null: f64) -> PolarsResult<Vec<f64>> {
    let column = df.column(name)?.cast(&DataType::Float64)?;
    Ok(values_or(column.f64()?, null))
}

/// The values of `ca`, `null` where there are none.
fn values_or<T: PolarsNumericType>(ca: &ChunkedArray<T>, null: T::Native) -> Vec<T::Native> {
    let mut out = Vec::with_capacity(ca.len());
    for chunk in ca.downcast_iter() {
        if chunk.validity().is_none_or(|v| v.unset_bits() == 0) {
            out.extend_from_slice(chunk.values());
        } else {
            out.extend(chunk.iter().map(|v| v.copied().unwrap_or(null)));
        }
    }
    out
}

pub fn bool_or(df: &DataFrame, name: &str, null: bool) -> PolarsResult<Vec<bool>> {
    let column = df.column(name)?.cast(&DataType::Boolean)?;
    let mut out = Vec::with_capacity(column.len());
    for chunk in column.bool()?.downcast_iter() {
        match chunk.validity().filter(|v| v.unset_bits() > 0) {
            None => out.extend(chunk.values().iter()),
            Some(valid) => {
                out.extend(
                    chunk
                        .values()
                        .iter()
                        .zip(valid.iter())
                        .map(|(v, ok)| if ok { v } else { null }),
                )
            }
        }
    }
    Ok(out)
}

/// The key columns `keys` of `narrow` (as `UInt32`) and its columns `others`, in one table
/// whose columns share their chunks' bounds (polars' `align_chunks`: each column in one piece
/// only where they did not), for reading piece by piece and by row number within a piece:
/// iterators of optional values, zipped, cost several times more per row (at ten million
/// stories, 0.3 s), and a copy of each column in one piece raised the peak. The table, and its
/// key columns in the order of `keys`.
///
/// # Errors
/// A missing column, or a key column not castable to `UInt32`.
pub fn aligned_keys_and(
    narrow: &DataFrame,
    keys: &[&str],
    others: &[&str],
) -> PolarsResult<(DataFrame, Vec<UInt32Chunked>)> {
    let mut columns = Vec::with_capacity(keys.len() + others.len());
    for (i, k) in keys.iter().enumerate() {
        let key = narrow.column(k)?.cast(&DataType::UInt32)?;
        columns.push(key.with_name(format!("__key{i}").into()));
    }
    for name in others {
        columns.push(narrow.column(name)?.clone());
    }
    let mut table = DataFrame::new_infer_height(columns)?;
    table.align_chunks_par();
    let key_columns = (0..keys.len())
        .map(|i| Ok(table.column(&format!("__key{i}"))?.u32()?.clone()))
        .collect::<PolarsResult<Vec<UInt32Chunked>>>()?;
    Ok((table, key_columns))
}

/// `f(piece)` of `df` cut into one piece of consecutive rows per thread (at least 65 536
/// rows each), run on every thread; the results in row order. For passes that count into a
/// map per piece and then sum the maps.
pub fn per_piece<T: Send>(
    df: &DataFrame,
    f: impl Fn(&DataFrame) -> PolarsResult<T> + Sync,
) -> PolarsResult<Vec<T>> {
    use rayon::prelude::*;
    let height = df.height();
    let piece = height
        .div_ceil(rayon::current_num_threads().max(1))
        .max(1 << 16);
    let starts: Vec<usize> = (0..height).step_by(piece).collect();
    starts
        .par_iter()
        .map(|&start| f(&df.slice(start as i64, piece.min(height - start))))
        .collect()
}

/// The rows of `df` that `found` lists in each piece of [`per_piece`] (counted from the
/// piece's start), as rows of the whole table, in order.
pub fn rows_found(
    df: &DataFrame,
    found: impl Fn(&DataFrame) -> PolarsResult<Vec<IdxSize>> + Sync,
) -> PolarsResult<Vec<IdxSize>> {
    let pieces = per_piece(df, |piece| Ok((piece.height() as IdxSize, found(piece)?)))?;
    let mut rows = Vec::with_capacity(pieces.iter().map(|(_, f)| f.len()).sum());
    let mut start: IdxSize = 0;
    for (height, found) in pieces {
        rows.extend(found.into_iter().map(|r| start + r));
        start += height;
    }
    Ok(rows)
}

/// One or two key columns of a table (cast to `UInt32`), read row by row as a pair: the second
/// is `None` with one key.
pub struct KeyPairs {
    first: UInt32Chunked,
    second: Option<UInt32Chunked>,
}

impl KeyPairs {
    /// The key columns `names` of `df`.
    ///
    /// # Errors
    /// A missing column, one not castable to `UInt32`, or other than one or two names.
    pub fn of(df: &DataFrame, names: &[&str]) -> PolarsResult<KeyPairs> {
        let column = |name: &str| -> PolarsResult<UInt32Chunked> {
            Ok(df.column(name)?.cast(&DataType::UInt32)?.u32()?.clone())
        };
        match names {
            [a] => Ok(KeyPairs {
                first: column(a)?,
                second: None,
            }),
            [a, b] => Ok(KeyPairs {
                first: column(a)?,
                second: Some(column(b)?),
            }),
            _ => Err(PolarsError::ComputeError(
                "a group is keyed by one or two columns".into(),
            )),
        }
    }

    /// The keys of each row, in row order.
    pub fn iter(&self) -> impl Iterator<Item = (Option<u32>, Option<u32>)> + '_ {
        let mut second = self.second.as_ref().map(|c| c.iter());
        self.first
            .iter()
            .map(move |a| (a, second.as_mut().and_then(|s| s.next()).flatten()))
    }
}

/// The maps made per piece ([`per_piece`]) summed into one, `add` adding a piece's value to
/// the sum's.
pub fn sum_maps<K, V, S>(
    maps: Vec<std::collections::HashMap<K, V, S>>,
    add: impl Fn(&mut V, V),
) -> std::collections::HashMap<K, V, S>
where
    K: std::hash::Hash + Eq,
    V: Default,
    S: std::hash::BuildHasher + Default,
{
    let mut total = std::collections::HashMap::default();
    for map in maps {
        for (key, value) in map {
            add(total.entry(key).or_default(), value);
        }
    }
    total
}

/// The rows of a table grouped by a dense id (a row number, a player): the rows of id `g`
/// are `order[starts[g]..starts[g + 1]]`, in table order. A counting sort: two passes.
pub struct Groups {
    starts: Vec<usize>,
    order: Vec<u32>,
}

impl Groups {
    /// Groups the rows of `df` by its column `row` (numbers below `n`, no nulls).
    ///
    /// # Errors
    /// A null or a number not below `n`, or a missing column.
    pub fn by(df: &DataFrame, row: &str, n: usize) -> PolarsResult<Groups> {
        let rows = u32_or(df, row, u32::MAX)?;
        if let Some(r) = rows.iter().find(|r| **r as usize >= n) {
            polars_bail!(ComputeError: "row number {r} of `{row}` outside 0..{n}");
        }
        Ok(Groups::of(rows.iter().map(|r| Some(*r)), n))
    }

    /// Groups rows by their `ids` (a null id, or one not below `n`, in no group).
    pub fn of(ids: impl Iterator<Item = Option<u32>> + Clone, n: usize) -> Groups {
        let valid = move |id: Option<u32>| id.map(|id| id as usize).filter(|id| *id < n);
        let mut starts = vec![0usize; n + 1];
        for id in ids.clone().filter_map(valid) {
            starts[id + 1] += 1;
        }
        for g in 0..n {
            starts[g + 1] += starts[g];
        }
        let mut next = starts.clone();
        let mut order = vec![0u32; starts[n]];
        for (i, id) in ids.enumerate() {
            if let Some(id) = valid(id) {
                order[next[id]] = i as u32;
                next[id] += 1;
            }
        }
        Groups { starts, order }
    }

    /// The rows of id `g` (none beyond the ids grouped).
    pub fn rows(&self, g: u32) -> &[u32] {
        match (self.starts.get(g as usize), self.starts.get(g as usize + 1)) {
            (Some(from), Some(to)) => &self.order[*from..*to],
            _ => &[],
        }
    }

    /// The groups with at least one row, by number: `(number, rows)`.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[u32])> + '_ {
        self.starts
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w[1] > w[0])
            .map(|(g, w)| (g as u32, &self.order[w[0]..w[1]]))
    }

    /// How many groups have at least one row.
    pub fn count(&self) -> usize {
        self.starts.windows(2).filter(|w| w[1] > w[0]).count()
    }
}

/// Up to four `u32`s as one integer that orders as their tuple does (the first highest).
pub fn packed(parts: &[u32]) -> u128 {
    parts
        .iter()
        .fold(0u128, |acc, part| (acc << 32) | u128::from(*part))
}

/// One more than the largest id (0 for none): the ids [`Groups::of`] has room for.
pub fn max_id(ids: &[Option<u32>]) -> usize {
    ids.iter().flatten().max().map_or(0, |m| *m as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_chunk_by_chunk_with_nulls_replaced() {
        // Two chunks: one without nulls (read as a slice), one with (value by value).
        let mut df = df!("x" => [1i64, 2, 3]).expect("df");
        let more = df!("x" => [None, Some(5i64)]).expect("df");
        df.vstack_mut(&more).expect("stack");
        assert_eq!(df.column("x").expect("x").n_chunks(), 2);
        assert_eq!(u32_or(&df, "x", 9).expect("u32"), vec![1, 2, 3, 9, 5]);
        assert_eq!(i32_or(&df, "x", -1).expect("i32"), vec![1, 2, 3, -1, 5]);
        assert_eq!(
            f64_or(&df, "x", 0.5).expect("f64"),
            vec![1.0, 2.0, 3.0, 0.5, 5.0]
        );
        assert_eq!(
            opt_f64(&df, "x").expect("opt"),
            vec![Some(1.0), Some(2.0), Some(3.0), None, Some(5.0)]
        );
        assert!(f64_or(&df, "missing", 0.0).is_err());
    }

    proptest::proptest! {
        /// Read chunk by chunk, the values are those of the column's own iterator, in every
        /// type, whatever the chunks, their nulls and a slice's offset into them.
        #[test]
        fn values_read_by_chunk_are_the_iterators(
            pieces in proptest::collection::vec(
                proptest::collection::vec(proptest::option::weighted(0.8, 0u8..200), 0..90),
                1..5,
            ),
            skip in 0usize..40,
            take in 0usize..400,
        ) {
            let frame = |piece: &Vec<Option<u8>>| {
                let x: Vec<Option<i64>> = piece.iter().map(|v| v.map(i64::from)).collect();
                let b: Vec<Option<bool>> = piece.iter().map(|v| v.map(|v| v % 3 == 0)).collect();
                df!("x" => x, "b" => b).expect("df")
            };
            let mut df = frame(&pieces[0]);
            for piece in &pieces[1..] {
                df.vstack_mut(&frame(piece)).expect("stack");
            }
            let df = df.slice(skip as i64, take);
            let x = df.column("x").expect("x");
            let reference = |t: DataType| -> Vec<Option<f64>> {
                let c = x.cast(&t).expect("cast").cast(&DataType::Float64).expect("f64");
                c.f64().expect("f64").iter().collect()
            };
            proptest::prop_assert_eq!(
                opt_u32(&df, "x").expect("u32").into_iter().map(|v| v.map(f64::from)).collect::<Vec<_>>(),
                reference(DataType::UInt32)
            );
            proptest::prop_assert_eq!(
                opt_u64(&df, "x").expect("u64").into_iter().map(|v| v.map(|v| v as f64)).collect::<Vec<_>>(),
                reference(DataType::UInt64)
            );
            proptest::prop_assert_eq!(
                opt_i32(&df, "x").expect("i32").into_iter().map(|v| v.map(f64::from)).collect::<Vec<_>>(),
                reference(DataType::Int32)
            );
            proptest::prop_assert_eq!(
                opt_i64(&df, "x").expect("i64").into_iter().map(|v| v.map(|v| v as f64)).collect::<Vec<_>>(),
                reference(DataType::Int64)
            );
            proptest::prop_assert_eq!(opt_f64(&df, "x").expect("f64"), reference(DataType::Float64));
            let bools: Vec<bool> = df
                .column("b")
                .expect("b")
                .bool()
                .expect("bool")
                .iter()
                .map(|v| v.unwrap_or(true))
                .collect();
            proptest::prop_assert_eq!(bool_or(&df, "b", true).expect("bool"), bools);
        }

        /// The distinct values are those of polars' `unique`, sorted, whether their span is
        /// marked in a table or not.
        #[test]
        fn distinct_values_are_the_unique_ones(
            values in proptest::collection::vec(proptest::option::weighted(0.9, -40i32..40), 0..200),
            spread in proptest::sample::select(vec![1i32, 3, 1000, 1 << 20, i32::MAX / 64]),
            offset in proptest::sample::select(vec![0i32, -70_000, 2_000_000_000]),
        ) {
            let x: Vec<Option<i32>> = values
                .iter()
                .map(|v| v.map(|v| v.saturating_mul(spread).saturating_add(offset)))
                .collect();
            let df = df!("x" => x).expect("df");
            let mut want: Vec<i32> = df
                .column("x").expect("x").i32().expect("i32").unique().expect("unique")
                .iter().flatten().collect();
            want.sort_unstable();
            proptest::prop_assert_eq!(distinct_i32(&df, "x").expect("distinct"), want);
        }
    }
}
