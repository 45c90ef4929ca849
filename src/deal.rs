//! A deal — (player, to_club, window) — packed into one `u64` key.
//!
//! Stories, deals and outcomes are grouped and joined by deal tens of millions of times per
//! run; one integer key is several times cheaper to hash than three columns. The packing is
//! exact: `player · 2^(c + w) + to_club · 2^w + (window − min)` with `c` and `w` the bits the
//! largest club id and window span need, so it is reversible and orders like the triple.

use polars::prelude::*;

/// How deals are packed for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DealKey {
    player_bits: u32,
    club_bits: u32,
    window_bits: u32,
    window_min: i32,
}

fn bits_for(max: u64) -> u32 {
    (64 - max.leading_zeros()).max(1)
}

impl DealKey {
    /// A packing for player ids up to `max_player`, club ids up to `max_club` and window
    /// ordinals in `window_min..=window_max`.
    ///
    /// # Errors
    /// When the three do not fit in 64 bits (over ~2^40 players × clubs).
    pub fn new(
        max_player: u32,
        max_club: u32,
        window_min: i32,
        window_max: i32,
    ) -> Result<DealKey, String> {
        let span = (window_max as i64 - window_min as i64).max(0) as u64;
        let key = DealKey {
            player_bits: bits_for(max_player as u64),
            club_bits: bits_for(max_club as u64),
            window_bits: bits_for(span),
            window_min,
        };
        if key.bits() > 63 {
            return Err(format!(
                "{} players, {} clubs and {} windows are too many to key deals in 63 bits",
                max_player as u64 + 1,
                max_club as u64 + 1,
                span + 1
            ));
        }
        Ok(key)
    }

    /// Bits a packed key uses: keys are below `2^bits()`.
    pub fn bits(&self) -> u32 {
        self.player_bits + self.club_bits + self.window_bits
    }

    fn shift_club(&self) -> u64 {
        1u64 << self.window_bits
    }

    fn shift_player(&self) -> u64 {
        1u64 << (self.window_bits + self.club_bits)
    }

    /// The packed key (`UInt64`) of three columns, as an expression: the reference
    /// [`DealKey::pack_columns`] is tested against.
    #[cfg(test)]
    pub fn pack(&self, player: Expr, to_club: Expr, window: Expr) -> Expr {
        player.cast(DataType::UInt64) * lit(self.shift_player())
            + to_club.cast(DataType::UInt64) * lit(self.shift_club())
            + (window.cast(DataType::Int64) - lit(self.window_min as i64)).cast(DataType::UInt64)
    }

    /// [`DealKey::pack`] on materialised columns, in one pass (at ten million claims, 0.19 s
    /// as an expression of casts and sums); a row with a null is null. Without nulls the
    /// columns are read as they are chunked, a piece of the rows per thread, straight into
    /// the packed column (at ten million wide claims in two reading chunks, 0.1 s on one
    /// thread with the three columns copied into one chunk each first).
    pub fn pack_columns(
        &self,
        player: &UInt32Chunked,
        to_club: &UInt32Chunked,
        window: &Int32Chunked,
    ) -> UInt64Chunked {
        use rayon::prelude::*;
        let (sp, sc, min) = (
            self.shift_player(),
            self.shift_club(),
            self.window_min as i64,
        );
        let one = |p: u32, c: u32, w: i32| {
            u64::from(p) * sp + u64::from(c) * sc + (i64::from(w) - min) as u64
        };
        let name = PlSmallStr::from_static("deal");
        let n = player.len();
        let same_length = to_club.len() == n && window.len() == n;
        if same_length && player.null_count() + to_club.null_count() + window.null_count() == 0 {
            let mut packed = vec![0u64; n];
            let piece = n.div_ceil(rayon::current_num_threads().max(1)).max(1 << 16);
            packed
                .par_chunks_mut(piece)
                .enumerate()
                .for_each(|(k, out)| {
                    let (start, len) = ((k * piece) as i64, out.len());
                    let p = player.slice(start, len);
                    let c = to_club.slice(start, len);
                    let w = window.slice(start, len);
                    let rows = p
                        .into_no_null_iter()
                        .zip(c.into_no_null_iter())
                        .zip(w.into_no_null_iter());
                    for (o, ((p, c), w)) in out.iter_mut().zip(rows) {
                        *o = one(p, c, w);
                    }
                });
            return UInt64Chunked::from_vec(name, packed);
        }
        player
            .iter()
            .zip(to_club.iter())
            .zip(window.iter())
            .map(|((p, c), w)| Some(one(p?, c?, w?)))
            .collect::<UInt64Chunked>()
            .with_name(name)
    }

    /// `player` (`UInt32`), `to_club` (`UInt32`) and `window` (`Int32`) of a packed key, as
    /// expressions: the reference [`DealKey::unpack_columns`] is tested against.
    #[cfg(test)]
    pub fn unpack(&self, deal: Expr) -> [Expr; 3] {
        let player = deal
            .clone()
            .floor_div(lit(self.shift_player()))
            .cast(DataType::UInt32)
            .alias("player");
        let to_club = (deal.clone().floor_div(lit(self.shift_club()))
            % lit(1u64 << self.club_bits))
        .cast(DataType::UInt32)
        .alias("to_club");
        let window = ((deal % lit(self.shift_club())).cast(DataType::Int64)
            + lit(self.window_min as i64))
        .cast(DataType::Int32)
        .alias("window");
        [player, to_club, window]
    }

    /// The window ordinal of a packed deal.
    pub fn window_of(&self, deal: u64) -> i32 {
        ((deal & (self.shift_club() - 1)) as i64 + self.window_min as i64) as i32
    }

    /// [`DealKey::unpack`] on a materialised `deal` column: the three columns made side by
    /// side, each straight into its own type. The expressions hold a `UInt64` temporary per
    /// step, all three at once (at ten million stories, a peak 0.27 GiB higher).
    pub fn unpack_columns(&self, deal: &UInt64Chunked) -> [Column; 3] {
        // The shifts are powers of two: shifted, not divided.
        let (player_shift, club_shift) = (
            self.shift_player().trailing_zeros(),
            self.shift_club().trailing_zeros(),
        );
        let club_mask = (1u64 << self.club_bits) - 1;
        // Each column is a pass over every key (at ten million wide claims, 9.6 million
        // stories: 0.13 s for the three one after the other, when they divided).
        let (player, (to_club, window)) = rayon::join(
            || -> UInt32Chunked {
                deal.apply_nonnull_values_generic(DataType::UInt32, |d| (d >> player_shift) as u32)
            },
            || {
                rayon::join(
                    || -> UInt32Chunked {
                        deal.apply_nonnull_values_generic(DataType::UInt32, |d| {
                            ((d >> club_shift) & club_mask) as u32
                        })
                    },
                    || -> Int32Chunked {
                        deal.apply_nonnull_values_generic(DataType::Int32, |d| self.window_of(d))
                    },
                )
            },
        );
        [
            player.with_name("player".into()).into_column(),
            to_club.with_name("to_club".into()).into_column(),
            window.with_name("window".into()).into_column(),
        ]
    }
}

/// (id, deal) packed into one `UInt64` when ids leave room: `id · 2^bits + deal`, which sorts
/// as the pair does (the stories report's order by source and deal) and several times faster
/// than two columns (polars row-encodes multi-column keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdDealKey {
    shift: u64,
}

impl IdDealKey {
    /// A packing for deal keys below `2^deal_bits` and ids up to `max_id`, if it fits in 63
    /// bits.
    pub fn with_bits(deal_bits: u32, max_id: u32) -> Option<IdDealKey> {
        (bits_for(max_id as u64) + deal_bits <= 63).then(|| IdDealKey {
            shift: 1u64 << deal_bits,
        })
    }

    /// A packing for the deal keys up to `max_deal` (of whatever [`DealKey`] made them).
    pub fn for_max_deal(max_deal: u64, max_id: u32) -> Option<IdDealKey> {
        Self::with_bits(bits_for(max_deal), max_id)
    }

    /// The packed key of an id column (`UInt32`, not null) and a deal column.
    pub fn pack(&self, id: Expr, deal: Expr) -> Expr {
        id.cast(DataType::UInt64) * lit(self.shift) + deal
    }
}

/// The rows of `rows` (their `columns` only) whose id in `column` occurs in `column` of
/// `keys`, in their order. The ids are interned (`UInt32`, dense), so they are marked in a
/// table by id and each row reads one entry of it, where a semi join would hash every
/// row: at ten million claims, picking the claims of some deals' players before
/// a join on (player, to_club, window). The rows found are listed, a piece of the rows per
/// thread ([`crate::column_values::per_piece`]), and gathered: the work on the other columns
/// grows with the rows kept, not with every row (a mask over ten million rows and a filter of
/// each column took 0.2 s for the open deals of the `rush` world).
pub fn rows_with_ids_in(
    rows: &DataFrame,
    columns: &[&str],
    column: &str,
    keys: &DataFrame,
) -> PolarsResult<DataFrame> {
    let wanted = keys.column(column)?.cast(&DataType::UInt32)?;
    let wanted = wanted.u32()?;
    let mut marked = vec![false; wanted.max().map_or(0, |m| m as usize + 1)];
    for id in wanted.iter().flatten() {
        marked[id as usize] = true;
    }
    // Each piece's rows found, counted from the piece's start, and its height; its values
    // read as slices, array by array (an iterator of optional values took twice as long).
    let found = crate::column_values::rows_found(&rows.select([column])?, |piece| {
        let ids = piece.column(column)?.cast(&DataType::UInt32)?;
        let mut found: Vec<IdxSize> = Vec::new();
        let mut at = 0usize;
        for arr in ids.u32()?.downcast_iter() {
            let validity = arr.validity();
            let values = arr.values().as_slice();
            found.extend(
                values
                    .iter()
                    .enumerate()
                    .filter(|&(i, id)| {
                        validity.is_none_or(|v| v.get_bit(i))
                            && marked.get(*id as usize).copied().unwrap_or(false)
                    })
                    .map(|(i, _)| (at + i) as IdxSize),
            );
            at += values.len();
        }
        Ok(found)
    })?;
    let found = IdxCa::from_vec(PlSmallStr::EMPTY, found);
    rows.select(columns.iter().copied())?.take(&found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_with_ids_in_keeps_the_rows_of_marked_ids_in_order() {
        let rows = df!(
            "player" => [Some(3u32), None, Some(1), Some(12), Some(3), Some(9)],
            "club" => [10u32, 11, 12, 13, 14, 15],
            "other" => [0u32; 6],
        )
        .expect("rows");
        // Ids 3 and 9 (and a null, which marks nothing); 12 lies beyond the marked table.
        let keys = df!("player" => [Some(9u32), None, Some(3)]).expect("keys");
        let got = rows_with_ids_in(&rows, &["club", "player"], "player", &keys).expect("rows");
        let expected = df!("club" => [10u32, 14, 15], "player" => [3u32, 3, 9]).expect("expected");
        assert!(got.equals(&expected), "{got:?}");
        let none = df!("player" => [None::<u32>]).expect("keys");
        let got = rows_with_ids_in(&rows, &["club"], "player", &none).expect("rows");
        assert_eq!(got.height(), 0);
    }

    #[test]
    fn rows_with_ids_in_reads_every_piece_of_every_chunk_in_order() {
        // Two chunks of more rows than a piece, with nulls: the same rows as a plain mask.
        let n = 200_000u32;
        let id = |r: u32| (r.wrapping_mul(2_654_435_761) >> 12) % 5_000;
        let make = |range: std::ops::Range<u32>| {
            let player: UInt32Chunked =
                range.clone().map(|r| (r % 7 != 0).then(|| id(r))).collect();
            let row = UInt32Chunked::from_vec("row".into(), range.collect());
            DataFrame::new_infer_height(vec![
                player.with_name("player".into()).into_column(),
                row.with_name("row".into()).into_column(),
            ])
            .expect("chunk")
        };
        let mut rows = make(0..n / 3);
        rows.vstack_mut_owned(make(n / 3..n)).expect("stack");
        assert_eq!(rows.column("player").expect("col").n_chunks(), 2);
        let keys = df!("player" => (0..5_000u32).filter(|p| p % 3 == 1).collect::<Vec<_>>())
            .expect("keys");
        let got = rows_with_ids_in(&rows, &["row", "player"], "player", &keys).expect("rows");
        let expected: Vec<u32> = (0..n).filter(|r| r % 7 != 0 && id(*r) % 3 == 1).collect();
        let got_rows: Vec<u32> = got
            .column("row")
            .expect("row")
            .u32()
            .expect("u32")
            .into_no_null_iter()
            .collect();
        assert!(expected.len() > 50_000, "{}", expected.len());
        assert_eq!(got_rows, expected);
        let players = got.column("player").expect("player").u32().expect("u32");
        assert!(players
            .into_no_null_iter()
            .zip(&expected)
            .all(|(p, r)| p == id(*r)));
    }

    #[test]
    fn packs_and_unpacks_exactly() {
        let key = DealKey::new(1_000_000, 700, 4000, 4100).expect("fits");
        let df = df!(
            "player" => [0u32, 1_000_000, 17],
            "to_club" => [700u32, 0, 3],
            "window" => [4000i32, 4100, 4050],
        )
        .expect("df");
        let out = packed_by_expression(&key, &df)
            .lazy()
            .select(key.unpack(col("deal")))
            .collect()
            .expect("collect");
        assert!(out.equals(&df), "{out:?}");
        assert!(DealKey::new(u32::MAX, u32::MAX, 0, 10).is_err());
        // The window of one packed deal, as the walk over sorted claims reads it.
        let deals = packed_by_expression(&key, &df);
        let windows: Vec<i32> = deals.columns()[0]
            .u64()
            .expect("u64")
            .into_no_null_iter()
            .map(|d| key.window_of(d))
            .collect();
        assert_eq!(windows, vec![4000, 4100, 4050]);
    }

    /// `deal`, the packed key of `df`'s `player`, `to_club` and `window` by [`DealKey::pack`].
    fn packed_by_expression(key: &DealKey, df: &DataFrame) -> DataFrame {
        df.clone()
            .lazy()
            .select([key
                .pack(col("player"), col("to_club"), col("window"))
                .alias("deal")])
            .collect()
            .expect("packed")
    }

    #[test]
    fn packed_columns_equal_the_packing_expression_nulls_kept() {
        let key = DealKey::new(1_000_000, 700, 4000, 4100).expect("fits");
        let df = df!(
            "player" => [Some(0u32), Some(1_000_000), None, Some(17), Some(5)],
            "to_club" => [Some(700u32), Some(0), Some(1), Some(3), None],
            "window" => [Some(4000i32), Some(4100), Some(4001), Some(4050), Some(4002)],
        )
        .expect("df");
        for rows in [df.clone(), df.slice(0, 2)] {
            packs_as_the_expression(&key, &rows);
        }
    }

    /// `pack_columns` of the three columns of `rows` against [`packed_by_expression`].
    fn packs_as_the_expression(key: &DealKey, rows: &DataFrame) {
        let by_expr = packed_by_expression(key, rows);
        let u = |c: &str| rows.column(c).expect("c").u32().expect("u32").clone();
        let w = rows.column("window").expect("w").i32().expect("i32");
        let packed = key.pack_columns(&u("player"), &u("to_club"), w);
        assert_eq!(packed.len(), rows.height());
        assert!(
            by_expr
                .column("deal")
                .expect("deal")
                .as_materialized_series()
                .equals_missing(&packed.into_series()),
            "{by_expr:?}"
        );
    }

    #[test]
    fn packed_columns_in_chunks_and_pieces_equal_the_packing_expression() {
        // No nulls, more rows than a piece twice over, in three chunks of other sizes than
        // the pieces: the pieces read across the chunks' edges.
        let key = DealKey::new(250_000, 3_000, 4000, 4100).expect("fits");
        let n = 200_003u32;
        let column = |range: std::ops::Range<u32>| {
            df!(
                "player" => range.clone().map(|r| r.wrapping_mul(2_654_435_761) % 250_001).collect::<Vec<u32>>(),
                "to_club" => range.clone().map(|r| r % 3_001).collect::<Vec<u32>>(),
                "window" => range.map(|r| 4000 + (r % 101) as i32).collect::<Vec<i32>>(),
            )
            .expect("df")
        };
        let mut rows = column(0..70_001);
        rows.vstack_mut_owned(column(70_001..70_010))
            .expect("stack");
        rows.vstack_mut_owned(column(70_010..n)).expect("stack");
        assert_eq!(rows.first_col_n_chunks(), 3);
        assert_eq!(rows.height(), n as usize);
        packs_as_the_expression(&key, &rows);
    }

    #[test]
    fn unpacked_columns_equal_the_unpacking_expressions_nulls_kept() {
        let key = DealKey::new(1_000_000, 700, 4000, 4100).expect("fits");
        let df = df!(
            "player" => [Some(0u32), Some(1_000_000), None, Some(17)],
            "to_club" => [Some(700u32), Some(0), None, Some(3)],
            "window" => [Some(4000i32), Some(4100), None, Some(4050)],
        )
        .expect("df");
        let deal = packed_by_expression(&key, &df);
        let by_expr = deal
            .clone()
            .lazy()
            .select(key.unpack(col("deal")))
            .collect()
            .expect("collect");
        let columns = key.unpack_columns(deal.column("deal").expect("deal").u64().expect("u64"));
        let by_columns = DataFrame::new(4, columns.to_vec()).expect("df");
        assert!(by_columns.equals_missing(&by_expr), "{by_columns:?}");
        assert_eq!(
            by_columns.column("player").expect("c").get(1).expect("v"),
            AnyValue::UInt32(1_000_000)
        );
        assert_eq!(by_columns.column("to_club").expect("c").null_count(), 1);
    }

    #[test]
    fn id_and_deal_pack_exactly_and_sort_as_the_pair() {
        let key = DealKey::new(1_000_000, 700, 4000, 4100).expect("fits");
        assert_eq!(key.bits(), 20 + 10 + 7);
        let pair = IdDealKey::with_bits(key.bits(), 5000).expect("fits");
        let df = df!(
            "source" => [0u32, 5000, 17, 17],
            "deal" => [0u64, (1u64 << 37) - 1, 123_456_789, 5],
        )
        .expect("df");
        let out = df
            .clone()
            .lazy()
            .select([pair.pack(col("source"), col("deal")).alias("k")])
            .collect()
            .expect("collect");
        let k: Vec<u64> = out
            .column("k")
            .expect("k")
            .u64()
            .expect("u64")
            .into_no_null_iter()
            .collect();
        assert_eq!(
            k,
            vec![
                0,
                (5000u64 << 37) + (1u64 << 37) - 1,
                (17u64 << 37) + 123_456_789,
                (17u64 << 37) + 5
            ]
        );
        assert_eq!(
            IdDealKey::for_max_deal((1u64 << 37) - 1, 5000),
            Some(pair),
            "the same packing from the largest deal key"
        );
        // No room: the caller keeps two key columns.
        assert!(IdDealKey::with_bits(key.bits(), u32::MAX >> 4).is_none());
    }
}
