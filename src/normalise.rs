//! Name normalisation: one key per player, club, source and author, whatever the spelling.
//!
//! A raw name becomes a key by Unicode folding (`deunicode`: `Ødegaard` → `Odegaard`,
//! `Weißhaupt` → `Weisshaupt`), lower case, punctuation to spaces, collapsed whitespace; club
//! names also lose noise words (`FC`, `AFC`, `CF`, …) and bare numbers (`Schalke 04`); then the
//! alias table maps the key to its canonical name's key. A leading `www.` is dropped from
//! sources, which are often domains.
//!
//! Ingest calls [`NameTable::intern`] once per field (players, of which there are millions,
//! [`NameTable::intern_batch`] once per 64 rows); the folding work is done once per distinct
//! raw spelling, and tables carry `u32` ids. Each reading thread interns into a table of its
//! own, merged into the file's in file order ([`NameTable::absorb`]), by the hashes the
//! tables store. [`NameTable::canonical_order`] then
//! renumbers ids in key order, so that ids — and everything sorted or tied by them — do not
//! depend on the order of input rows.

use std::collections::BTreeMap;

use std::hash::BuildHasher;

use hashbrown::hash_table::Entry;
use hashbrown::{HashMap, HashTable};
use polars::prelude::*;
use rayon::iter::{IndexedParallelIterator, IntoParallelRefIterator, ParallelIterator};
use rayon::slice::ParallelSliceMut;

/// `hashbrown`'s map (the one `std` wraps), with a fixed hasher.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// The hash of a spelling or a key: the one hasher of every name table, so that a hash
/// computed in one table (a chunk's) holds in another (the file's).
fn name_hash(text: &str) -> u64 {
    foldhash::fast::FixedState::default().hash_one(text)
}

/// A raw spelling in a [`NameTable`], with its hash: a table that grows moves its entries by
/// the stored hash, without reading (or hashing again) a single spelling, and a chunk's
/// spellings merge into the file's table the same way.
#[derive(Debug, Clone)]
struct Spelling {
    hash: u64,
    /// Spellings up to 24 bytes are stored inline (`PlSmallStr`), so a lookup — one per name
    /// field of every row — compares them without following a pointer.
    text: PlSmallStr,
    id: u32,
    /// How often it was seen (saturating).
    count: u32,
}

/// What a name names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameKind {
    Player,
    Club,
    Source,
    Author,
}

impl NameKind {
    /// Every kind, in declaration order (the order of [`NameKind`] as an index).
    pub const ALL: [NameKind; 4] = [
        NameKind::Player,
        NameKind::Club,
        NameKind::Source,
        NameKind::Author,
    ];

    pub fn parse(s: &str) -> Option<NameKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "player" => Some(NameKind::Player),
            "club" => Some(NameKind::Club),
            "source" => Some(NameKind::Source),
            "author" => Some(NameKind::Author),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NameKind::Player => "player",
            NameKind::Club => "club",
            NameKind::Source => "source",
            NameKind::Author => "author",
        }
    }
}

/// Words that do not tell clubs apart (compared after folding). Deliberately short: dropping
/// `SV`/`SC` would merge Karlsruher SV with Karlsruher SC, and a wrong merge is silent while a
/// missed one shows up in `unmatched.csv` and is fixed with an alias.
const CLUB_NOISE: &[&str] = &["fc", "afc", "cf", "club", "calcio", "de", "the", "football"];

/// Unicode folding, lower case, punctuation to spaces, single spaces, trimmed. Characters
/// that show nothing (control characters other than white space, the zero-width space)
/// join what is around them, as they look on screen: `Liver\u{200B}pool` is `liverpool`.
pub fn fold(raw: &str) -> String {
    // `deunicode`'s own placeholder for characters it cannot spell; a name that is ASCII
    // already (most) is not given to it at all.
    if raw.is_ascii() {
        return fold_ascii(raw);
    }
    // `deunicode` spells the zero-width space as a space (the other zero-width characters
    // as nothing), and may drop white space after a control character: what shows nothing
    // goes first.
    let shown = |c: &char| *c != ZERO_WIDTH_SPACE && !u8::try_from(*c).is_ok_and(invisible);
    let visible: std::borrow::Cow<str> = if raw.chars().all(|c| shown(&c)) {
        raw.into()
    } else {
        raw.chars().filter(shown).collect::<String>().into()
    };
    fold_ascii(&deunicode::deunicode_with_tofu_cow(&visible, "[?]"))
}

/// A break opportunity that shows nothing, common in text copied from web pages.
const ZERO_WIDTH_SPACE: char = '\u{200B}';

/// An ASCII control character that is not white space (NUL, DEL, …): shows nothing.
fn invisible(b: u8) -> bool {
    b.is_ascii_control() && !matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// [`fold`] of an ASCII name: letters and digits in lower case, runs of anything else one
/// space (none at the ends), apostrophes and [`invisible`] characters dropped. (A byte
/// outside ASCII, were there one, would be a separator as its character is.)
fn fold_ascii(ascii: &str) -> String {
    let mut out = String::with_capacity(ascii.len());
    let mut pending_space = false;
    for b in ascii.bytes() {
        if b.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(char::from(b.to_ascii_lowercase()));
        } else if b == b'\'' || invisible(b) {
            // "N'Golo" and "Ngolo", "St. Mirren's": apostrophes join, as does what shows
            // nothing.
        } else {
            pending_space = true;
        }
    }
    out
}

/// The key of a raw name of the given kind (before aliases).
pub fn key(kind: NameKind, raw: &str) -> String {
    let folded = fold(raw);
    match kind {
        NameKind::Club => {
            // Founding years and numbers (`Schalke 04`, `1899 Hoffenheim`) and a leading `1`
            // (`1. FC Köln`) go; a single digit elsewhere is a reserve side (`Zenit 2`) and stays.
            let kept: Vec<&str> = folded
                .split(' ')
                .enumerate()
                .filter(|(i, w)| {
                    let number = w.bytes().all(|b| b.is_ascii_digit());
                    !CLUB_NOISE.contains(w) && !(number && (w.len() >= 2 || (*i == 0 && *w == "1")))
                })
                .map(|(_, w)| w)
                .collect();
            if kept.is_empty() {
                folded
            } else {
                kept.join(" ")
            }
        }
        NameKind::Source => folded
            .strip_prefix("www ")
            .map(str::to_string)
            .unwrap_or(folded),
        NameKind::Player | NameKind::Author => folded,
    }
}

/// The alias table: `(kind, key of alias)` → canonical name.
#[derive(Debug, Clone, Default)]
pub struct Aliases {
    /// One map per kind (in [`NameKind`] order), looked up by `&str`: a name read for the
    /// first time asks it once, without building a key to ask with.
    by_kind: [FastMap<String, String>; NameKind::ALL.len()],
}

impl Aliases {
    /// Adds an alias. Returns the canonical name already recorded for this alias when it
    /// differs (a conflicting row).
    pub fn insert(&mut self, kind: NameKind, alias: &str, canonical: &str) -> Option<String> {
        let k = key(kind, alias);
        let canonical = canonical.trim().to_string();
        let map = &mut self.by_kind[kind as usize];
        match map.get(&k) {
            Some(existing) if key(kind, existing) != key(kind, &canonical) => {
                Some(existing.clone())
            }
            Some(_) => None,
            None => {
                map.insert(k, canonical);
                None
            }
        }
    }

    /// Every alias as `(kind, key of the alias, canonical name)`, in a stable order.
    pub fn entries(&self) -> Vec<(NameKind, &str, &str)> {
        let mut all: Vec<(NameKind, &str, &str)> = NameKind::ALL
            .iter()
            .flat_map(|kind| {
                self.by_kind[*kind as usize]
                    .iter()
                    .map(move |(k, c)| (*kind, k.as_str(), c.as_str()))
            })
            .collect();
        all.sort_by(|a, b| (a.0 as u8, a.1).cmp(&(b.0 as u8, b.1)));
        all
    }

    /// The canonical name of a key, if aliased.
    pub fn canonical(&self, kind: NameKind, key: &str) -> Option<&str> {
        self.by_kind[kind as usize].get(key).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_kind.iter().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_kind.iter().all(HashMap::is_empty)
    }
}

/// Interned names of one kind: raw spelling → id, id → key and display name.
#[derive(Debug, Clone)]
pub struct NameTable {
    kind: NameKind,
    /// Every raw spelling (trimmed) seen, with its id and count.
    raw: HashTable<Spelling>,
    /// Per id: the key.
    keys: Vec<PlSmallStr>,
    /// Key → id, for interning: `(hash of the key, id)`, the key itself read from `keys`.
    /// Emptied by [`NameTable::release_index`] once reading is done (rebuilt from `keys` if a
    /// name is interned after that).
    key_ids: HashTable<(u64, u32)>,
    /// The canonical name from the alias table of the ids that have one (few: a map, not a
    /// slot per id, which at five million players was 120 MB of `None`).
    aliased: BTreeMap<u32, String>,
}

impl NameTable {
    pub fn new(kind: NameKind) -> NameTable {
        NameTable {
            kind,
            raw: HashTable::new(),
            keys: Vec::new(),
            key_ids: HashTable::new(),
            aliased: BTreeMap::new(),
        }
    }

    pub fn kind(&self) -> NameKind {
        self.kind
    }

    /// The id of a raw name (non-empty after trimming). Folding runs once per distinct
    /// spelling.
    pub fn intern(&mut self, raw: &str, aliases: &Aliases) -> u32 {
        self.intern_hashed(raw, name_hash(raw), aliases)
    }

    /// The ids of a batch of raw names, in order, added to `ids`, and the batch emptied: the
    /// same ids and counts as [`NameTable::intern`] of each in turn. The spellings' places in the table are looked up for the whole batch
    /// first, one after another: in a table of millions of spellings each lookup waits for
    /// memory, and a tight loop of independent lookups lets the processor wait for many at
    /// once, where lookups between the parsing of rows wait one at a time.
    pub fn intern_batch(&mut self, batch: &mut NameBatch, aliases: &Aliases, ids: &mut Vec<u32>) {
        let hashes: Vec<u64> = batch.names().map(name_hash).collect();
        for hash in &hashes {
            // Only the memory traffic matters here; the second pass finds the same entry.
            std::hint::black_box(self.raw.find(*hash, |s| s.hash == *hash).map(|s| s.id));
        }
        ids.extend(
            batch
                .names()
                .zip(hashes)
                .map(|(raw, hash)| self.intern_hashed(raw, hash, aliases)),
        );
        batch.clear();
    }

    /// [`NameTable::intern`] of a spelling whose [`name_hash`] is `hash`.
    fn intern_hashed(&mut self, raw: &str, hash: u64, aliases: &Aliases) -> u32 {
        let same = |s: &Spelling| s.hash == hash && s.text == raw;
        match self.raw.entry(hash, same, |s| s.hash) {
            Entry::Occupied(mut seen) => {
                let entry = seen.get_mut();
                entry.count = entry.count.saturating_add(1);
                entry.id
            }
            Entry::Vacant(new) => {
                let mut k = key(self.kind, raw);
                let canonical = aliases.canonical(self.kind, &k);
                if let Some(c) = canonical {
                    k = key(self.kind, c);
                }
                let id = id_of_key(&mut self.keys, &mut self.key_ids, k.into(), None);
                if let Some(c) = canonical {
                    self.aliased.insert(id, c.to_string());
                }
                new.insert(Spelling {
                    hash,
                    text: raw.into(),
                    id,
                    count: 1,
                });
                id
            }
        }
    }

    /// Adds every spelling of `other` (with its count) and returns `other id → id here`.
    /// Used to merge the tables of chunks read in parallel; `other`'s keys are moved over, not
    /// recomputed.
    pub fn absorb(&mut self, other: NameTable) -> Vec<u32> {
        if self.keys.is_empty() && self.raw.is_empty() && self.aliased.is_empty() {
            // The first chunk of the first file: its table becomes this one as it is, with
            // the same ids (at five million players, rehashing it cost about a second).
            debug_assert_eq!(self.kind, other.kind);
            let ids = 0..other.keys.len() as u32;
            *self = other;
            return ids.collect();
        }
        // No `reserve` for `other`'s sizes: chunks of one file mostly share their names, and
        // growing for the sum would make a table twice the size it needs.
        // The hashes `other` stored for its keys, by id (none when its index was released).
        let mut hashes = vec![None; other.keys.len()];
        for (hash, id) in &other.key_ids {
            hashes[*id as usize] = Some(*hash);
        }
        let NameTable {
            raw, keys, key_ids, ..
        } = self;
        // Keys and spellings are merged side by side: the spellings already here add their
        // counts meanwhile, and those new here wait for the keys' ids.
        let (map, (raw, new_spellings)) = std::thread::scope(|scope| {
            let spellings = scope.spawn(move || {
                let mut new_spellings = Vec::new();
                for spelling in other.raw {
                    let same = |s: &Spelling| s.hash == spelling.hash && s.text == spelling.text;
                    match raw.find_mut(spelling.hash, same) {
                        Some(seen) => seen.count = seen.count.saturating_add(spelling.count),
                        None => new_spellings.push(spelling),
                    }
                }
                (raw, new_spellings)
            });
            let map: Vec<u32> = other
                .keys
                .into_iter()
                .zip(hashes)
                .map(|(key, hash)| id_of_key(keys, key_ids, key, hash))
                .collect();
            let spellings = spellings
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (map, spellings)
        });
        for spelling in new_spellings {
            raw.insert_unique(
                spelling.hash,
                Spelling {
                    id: map[spelling.id as usize],
                    ..spelling
                },
                |s| s.hash,
            );
        }
        for (id, canonical) in other.aliased {
            self.aliased.insert(map[id as usize], canonical);
        }
        map
    }

    /// Frees the key → id index that interning uses (at five million players, over 100 MB)
    /// once every file is read. Ids, keys, spellings and display names are unchanged; a later
    /// [`NameTable::intern`] rebuilds the index first.
    pub fn release_index(&mut self) {
        self.key_ids = HashTable::new();
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key of an id.
    pub fn key_of(&self, id: u32) -> &str {
        &self.keys[id as usize]
    }

    /// Renumbers ids in the order of their keys and returns `old id → new id`. Apply it to
    /// every id column with [`remap_ids`].
    pub fn canonical_order(&mut self) -> Vec<u32> {
        // Keys are unique: an unstable sort gives the one order, on any number of threads.
        // Sorted by their first 16 bytes held beside the id, and only where those are the
        // same by the whole key: most comparisons read no key (at ten million claims of
        // 1.8 million players, 0.55 s of sorting by the keys alone).
        let keys = &self.keys;
        let mut order: Vec<(u128, u32)> = keys
            .iter()
            .enumerate()
            .map(|(id, key)| (key_prefix(key), id as u32))
            .collect();
        order.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| keys[a.1 as usize].cmp(&keys[b.1 as usize]))
        });
        let order: Vec<u32> = order.into_iter().map(|(_, id)| id).collect();
        let mut old_to_new = vec![0u32; order.len()];
        for (new, old) in order.iter().enumerate() {
            old_to_new[*old as usize] = new as u32;
        }
        let keys = order
            .iter()
            .map(|o| std::mem::take(&mut self.keys[*o as usize]))
            .collect();
        // The key → id index keeps its entries; only the ids change.
        for (_, id) in self.key_ids.iter_mut() {
            *id = old_to_new[*id as usize];
        }
        self.aliased = std::mem::take(&mut self.aliased)
            .into_iter()
            .map(|(old, canonical)| (old_to_new[old as usize], canonical))
            .collect();
        self.keys = keys;
        for entry in self.raw.iter_mut() {
            entry.id = old_to_new[entry.id as usize];
        }
        old_to_new
    }

    /// Display name of every id: the alias table's canonical name, else the most used raw
    /// spelling (ties: the smallest in byte order).
    pub fn display_names(&self) -> Vec<String> {
        let mut best: Vec<Option<(&str, u32)>> = vec![None; self.keys.len()];
        for Spelling {
            text, id, count, ..
        } in &self.raw
        {
            let slot = &mut best[*id as usize];
            let better = match slot {
                None => true,
                Some((s, c)) => *count > *c || (*count == *c && text.as_str() < *s),
            };
            if better {
                *slot = Some((text.as_str(), *count));
            }
        }
        // The names copied out on every thread (at ten million claims, 1.8 million players).
        best.par_iter()
            .enumerate()
            .map(|(i, b)| match self.aliased.get(&(i as u32)) {
                Some(c) => c.clone(),
                None => b
                    .map(|(s, _)| s.to_string())
                    .unwrap_or_else(|| self.keys[i].to_string()),
            })
            .collect()
    }

    /// The raw spellings of each of `ids`, most used first (ties: byte order), for the
    /// unmatched-names report. Two passes over the spellings into one flat list (no list per
    /// id: at ten million claims there are millions of unmatched players).
    pub fn spellings_of(&self, ids: &[u32]) -> Spellings<'_> {
        const NONE: u32 = u32::MAX;
        let mut slot = vec![NONE; self.keys.len()];
        for (i, id) in ids.iter().enumerate() {
            if let Some(s) = slot.get_mut(*id as usize) {
                *s = i as u32;
            }
        }
        let slot_of = |id: u32| slot.get(id as usize).copied().filter(|s| *s != NONE);
        // Counts per id, then each id's range of the flat list.
        let mut starts = vec![0usize; ids.len() + 1];
        for Spelling { id, .. } in &self.raw {
            if let Some(i) = slot_of(*id) {
                starts[i as usize + 1] += 1;
            }
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut all: Vec<(&str, u32)> = vec![("", 0); starts[ids.len()]];
        for Spelling {
            text, id, count, ..
        } in &self.raw
        {
            if let Some(i) = slot_of(*id) {
                all[next[i as usize]] = (text.as_str(), *count);
                next[i as usize] += 1;
            }
        }
        for w in starts.windows(2) {
            all[w[0]..w[1]].sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        }
        Spellings {
            starts,
            all: all.into_iter().map(|(s, _)| s).collect(),
        }
    }
}

/// The first 16 bytes of a key (zero after its end) as a number: of two keys, the one with the
/// smaller prefix comes first in byte order; equal prefixes leave it to the rest.
pub(crate) fn key_prefix(key: &str) -> u128 {
    let mut first = [0u8; 16];
    let n = key.len().min(16);
    first[..n].copy_from_slice(&key.as_bytes()[..n]);
    u128::from_be_bytes(first)
}

/// Raw names waiting to be interned together ([`NameTable::intern_batch`]), copied out of the
/// rows they were read from.
#[derive(Debug, Default)]
pub struct NameBatch {
    text: String,
    ends: Vec<usize>,
}

impl NameBatch {
    /// Names interned together: enough lookups to wait for memory at once, few enough for
    /// their entries to stay in the first-level cache until they are read again.
    pub const SIZE: usize = 64;

    /// Names held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Whether the batch holds [`NameBatch::SIZE`] names: time to intern them.
    pub fn is_full(&self) -> bool {
        self.ends.len() >= NameBatch::SIZE
    }

    pub fn push(&mut self, name: &str) {
        self.text.push_str(name);
        self.ends.push(self.text.len());
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// The names, in the order pushed.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, end)| &self.text[start..*end])
    }
}

/// The spellings of a list of ids ([`NameTable::spellings_of`]).
pub struct Spellings<'a> {
    /// `all[starts[i]..starts[i + 1]]` are the spellings of the `i`-th id.
    starts: Vec<usize>,
    all: Vec<&'a str>,
}

impl<'a> Spellings<'a> {
    /// The spellings of the `i`-th id asked for, most used first.
    pub fn of(&self, i: usize) -> &[&'a str] {
        &self.all[self.starts[i]..self.starts[i + 1]]
    }
}

/// The id of key `k` (whose hash is `hash`, when known) in `keys`, added at the end when new.
/// `key_ids` indexes `keys`; when it was released after reading
/// ([`NameTable::release_index`]) it is rebuilt first, so that ids stay the same.
fn id_of_key(
    keys: &mut Vec<PlSmallStr>,
    key_ids: &mut HashTable<(u64, u32)>,
    k: PlSmallStr,
    hash: Option<u64>,
) -> u32 {
    if key_ids.is_empty() && !keys.is_empty() {
        key_ids.reserve(keys.len(), |e| e.0);
        for (id, key) in keys.iter().enumerate() {
            let hash = name_hash(key);
            key_ids.insert_unique(hash, (hash, id as u32), |e| e.0);
        }
    }
    let hash = hash.unwrap_or_else(|| name_hash(&k));
    // One probe of the index whether the key is new or not.
    let same = |e: &(u64, u32)| e.0 == hash && keys[e.1 as usize] == k;
    match key_ids.entry(hash, same, |e| e.0) {
        Entry::Occupied(e) => e.get().1,
        Entry::Vacant(e) => {
            let id = keys.len() as u32;
            e.insert((hash, id));
            keys.push(k);
            id
        }
    }
}

/// Applies an `old → new` id map to a `UInt32` column of `df` in place: in its own buffer
/// when `df` holds the only reference to it (as the chunks just read do; at ten million
/// claims, five columns of 40 MB not allocated and touched again), in a new one otherwise.
/// The column keeps its place among the others.
pub fn remap_ids(df: &mut DataFrame, column: &str, old_to_new: &[u32]) -> PolarsResult<()> {
    let at = df.try_get_column_index(column)?;
    // Taken out of the frame and the series, so that this is the only reference left.
    let ids: UInt32Chunked = df
        .drop_in_place(column)?
        .take_materialized_series()
        .u32()?
        .clone();
    // Slots under a null hold arbitrary values: map what is in range, leave the rest.
    let mapped = ids.apply_in_place(|v| old_to_new.get(v as usize).copied().unwrap_or(v));
    df.insert_column(at, mapped.into_column())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_indexes_its_own_alias_map() {
        for (i, kind) in NameKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i, "{kind:?}");
        }
        let mut aliases = Aliases::default();
        assert_eq!(
            aliases.insert(NameKind::Club, "Spurs", "Tottenham Hotspur"),
            None
        );
        assert_eq!(
            aliases.canonical(NameKind::Club, "spurs"),
            Some("Tottenham Hotspur")
        );
        assert_eq!(aliases.canonical(NameKind::Player, "spurs"), None);
        assert_eq!(aliases.len(), 1);
    }

    #[test]
    fn remapping_ids_keeps_the_column_in_place_and_leaves_shared_buffers_alone() {
        let ids = UInt32Chunked::new("to_club".into(), &[Some(2), None, Some(0), Some(7)]);
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("a".into(), &[1i32, 2, 3, 4]),
            ids.into_column(),
            Column::new("b".into(), &[5i32, 6, 7, 8]),
        ])
        .expect("frame");
        let to_club = |df: &DataFrame| -> Vec<Option<u32>> {
            df.column("to_club")
                .expect("col")
                .u32()
                .expect("u32")
                .iter()
                .collect()
        };
        // Another frame sharing the buffers: remapping `df` must not change it.
        let shared = df.clone();
        remap_ids(&mut df, "to_club", &[10, 11, 12]).expect("remap");
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["a", "to_club", "b"]);
        let got = to_club(&df);
        // Ids beyond the map are kept; nulls stay null.
        assert_eq!(got, [Some(12), None, Some(10), Some(7)]);
        let before = to_club(&shared);
        assert_eq!(before, [Some(2), None, Some(0), Some(7)]);
        // Alone now, the frame's column is remapped in its own buffer: same result.
        drop(shared);
        remap_ids(&mut df, "to_club", &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]).expect("remap");
        let got = to_club(&df);
        assert_eq!(got, [Some(3), None, Some(1), Some(0)]);
    }

    #[test]
    fn folding_transliterates_as_deunicode_does() {
        // The borrowed transliteration gives what `deunicode` gives, placeholder included
        // (U+E000 is private use: no spelling).
        for c in (0..0x3100u32)
            .chain([0xe000, 0x1f600])
            .filter_map(char::from_u32)
        {
            let s = format!("Kess{c}é {c}");
            assert_eq!(
                deunicode::deunicode_with_tofu_cow(&s, "[?]"),
                deunicode::deunicode(&s),
                "{s:?}"
            );
        }
        assert_eq!(fold("Kessi\u{e000}é"), "kessi e");
    }

    #[test]
    fn folding_matches_ascii_spellings() {
        assert_eq!(fold("Martin Ødegaard"), fold("martin odegaard"));
        assert_eq!(fold("Luka Modrić"), "luka modric");
        assert_eq!(fold("Weißhaupt"), "weisshaupt");
        assert_eq!(fold("  Duje  Caleta-Car "), "duje caleta car");
        assert_eq!(fold("N'Golo Kanté"), "ngolo kante");
        // What shows nothing joins; white space of any kind separates.
        assert_eq!(fold("Liver\0pool"), "liverpool");
        assert_eq!(fold("Liver\u{7f}pool\u{1}"), "liverpool");
        assert_eq!(fold("Liver\u{200B}pool"), "liverpool");
        assert_eq!(fold("Köln\u{200B}er\u{0}"), "kolner");
        assert_eq!(fold("Liver\tpool"), "liver pool");
        assert_eq!(fold("Liver\u{b}pool"), "liver pool");
    }

    #[test]
    fn club_keys_drop_noise_words_and_numbers() {
        assert_eq!(
            key(NameKind::Club, "Olympique de Marseille"),
            "olympique marseille"
        );
        assert_eq!(key(NameKind::Club, "Juventus FC"), "juventus");
        assert_eq!(key(NameKind::Club, "FC Schalke 04"), "schalke");
        assert_eq!(key(NameKind::Club, "1.FC Köln"), "koln");
        assert_eq!(
            key(NameKind::Club, "Atlético de Madrid"),
            key(NameKind::Club, "Atletico Madrid")
        );
        // Distinct clubs stay distinct (aliases join the rest: AC Milan / Milan).
        assert_ne!(
            key(NameKind::Club, "AC Milan"),
            key(NameKind::Club, "Milan")
        );
        assert_ne!(
            key(NameKind::Club, "Karlsruher SV"),
            key(NameKind::Club, "Karlsruher SC")
        );
        assert_ne!(
            key(NameKind::Club, "Zenit 2 S-Pb"),
            key(NameKind::Club, "Zenit S-Pb")
        );
        assert_eq!(key(NameKind::Club, "1.FSV Mainz 05"), "fsv mainz");
        assert_eq!(key(NameKind::Club, "FC"), "fc", "never empty");
        assert_eq!(
            key(NameKind::Source, "www.dailymail.co.uk"),
            "dailymail co uk"
        );
    }

    #[test]
    fn aliases_and_display_names() {
        let mut aliases = Aliases::default();
        assert!(aliases
            .insert(NameKind::Club, "Man Utd", "Manchester United")
            .is_none());
        assert_eq!(
            aliases
                .insert(NameKind::Club, "man utd", "Manchester City")
                .as_deref(),
            Some("Manchester United")
        );
        let mut t = NameTable::new(NameKind::Club);
        let a = t.intern("Man Utd", &aliases);
        let b = t.intern("manchester united", &aliases);
        let c = t.intern("Manchester United FC", &aliases);
        let d = t.intern("Arsenal", &aliases);
        t.intern("arsenal", &aliases);
        t.intern("arsenal", &aliases);
        assert!(a == b && b == c && a != d);
        let names = t.display_names();
        assert_eq!(names[a as usize], "Manchester United");
        assert_eq!(names[d as usize], "arsenal", "most used spelling");
    }

    #[test]
    fn interning_after_the_index_is_released_keeps_the_ids() {
        let aliases = Aliases::default();
        let mut t = NameTable::new(NameKind::Player);
        let a = t.intern("Erling Haaland", &aliases);
        let b = t.intern("Kylian Mbappé", &aliases);
        t.release_index();
        assert_eq!(t.intern("erling haaland", &aliases), a);
        assert_eq!(t.intern("Kylian Mbappe", &aliases), b);
        assert_eq!(t.intern("Jude Bellingham", &aliases), 2);
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn canonical_order_is_independent_of_insertion_order() {
        let aliases = Aliases::default();
        let mut t1 = NameTable::new(NameKind::Player);
        let mut t2 = NameTable::new(NameKind::Player);
        for n in ["Zed", "Amy", "Bob"] {
            t1.intern(n, &aliases);
        }
        for n in ["Bob", "Zed", "Amy"] {
            t2.intern(n, &aliases);
        }
        let m1 = t1.canonical_order();
        let m2 = t2.canonical_order();
        assert_eq!(t1.display_names(), vec!["Amy", "Bob", "Zed"]);
        assert_eq!(t1.display_names(), t2.display_names());
        assert_eq!(m1, vec![2, 0, 1]);
        assert_eq!(m2, vec![1, 2, 0]);
    }

    #[test]
    fn absorbing_chunks_renumbers_and_adds_counts() {
        let mut aliases = Aliases::default();
        aliases.insert(NameKind::Club, "Spurs", "Tottenham Hotspur");
        let chunk = |names: &[&str]| {
            let mut t = NameTable::new(NameKind::Club);
            for n in names {
                t.intern(n, &aliases);
            }
            t
        };
        // The first chunk becomes the table as it is.
        let mut merged = NameTable::new(NameKind::Club);
        let first = chunk(&["Spurs", "Arsenal", "Spurs"]);
        assert_eq!(merged.absorb(first), vec![0, 1]);
        // The next one maps its ids onto the merged ones and adds new keys at the end.
        let second = chunk(&["Chelsea", "Arsenal FC", "Tottenham Hotspur", "Arsenal"]);
        assert_eq!(merged.absorb(second), vec![2, 1, 0]);
        assert_eq!(merged.len(), 3);
        assert_eq!(
            merged.display_names(),
            vec!["Tottenham Hotspur", "Arsenal", "Chelsea"]
        );
        // Counts of a spelling add up across chunks: "Arsenal" twice against "Arsenal FC" once.
        let spellings = merged.spellings_of(&[1, 2, 0]);
        assert_eq!(spellings.of(0), ["Arsenal", "Arsenal FC"]);
        assert_eq!(spellings.of(1), ["Chelsea"]);
        assert_eq!(spellings.of(2), ["Spurs", "Tottenham Hotspur"]);
        assert!(merged.spellings_of(&[]).all.is_empty());
        // Interning after the merge finds the merged ids.
        assert_eq!(merged.intern("Chelsea FC", &aliases), 2);
    }

    #[test]
    fn a_chunk_whose_index_was_released_is_absorbed_by_its_keys() {
        let aliases = Aliases::default();
        let mut merged = NameTable::new(NameKind::Player);
        merged.intern("Jude Bellingham", &aliases);
        let mut other = NameTable::new(NameKind::Player);
        other.intern("Erling Haaland", &aliases);
        other.intern("jude bellingham", &aliases);
        other.release_index();
        assert_eq!(merged.absorb(other), vec![1, 0]);
        assert_eq!(merged.intern("ERLING HAALAND", &aliases), 1);
        assert_eq!(
            merged.spellings_of(&[0]).of(0),
            ["Jude Bellingham", "jude bellingham"]
        );
    }

    /// What a table says of names interned: their ids, the display names, the spellings.
    type Interned = (Vec<u32>, Vec<String>, Vec<Vec<String>>);

    /// [`Interned`] of `names` interned one by one and in batches of `batch` (repeats within
    /// a batch, aliases and spellings of one key included).
    fn one_by_one_and_batched(names: &[&str], batch: usize) -> [Interned; 2] {
        let mut aliases = Aliases::default();
        aliases.insert(NameKind::Player, "Vini Jr", "Vinícius Júnior");
        let seen = |t: &NameTable, ids: Vec<u32>| {
            let all: Vec<u32> = (0..t.len() as u32).collect();
            let spellings = t.spellings_of(&all);
            let spellings = (0..all.len())
                .map(|i| spellings.of(i).iter().map(|s| s.to_string()).collect())
                .collect();
            (ids, t.display_names(), spellings)
        };
        let mut one = NameTable::new(NameKind::Player);
        let ids = names.iter().map(|n| one.intern(n, &aliases)).collect();
        let single = seen(&one, ids);
        let mut batched = NameTable::new(NameKind::Player);
        let (mut ids, mut pending) = (Vec::new(), NameBatch::default());
        for n in names {
            pending.push(n);
            if pending.len() == batch {
                batched.intern_batch(&mut pending, &aliases, &mut ids);
                assert!(pending.is_empty());
            }
        }
        batched.intern_batch(&mut pending, &aliases, &mut ids);
        [single, seen(&batched, ids)]
    }

    #[test]
    fn a_batch_interns_as_names_one_by_one_do() {
        let names = [
            "Vini Jr",
            "Erling Haaland",
            "erling haaland",
            "Vinícius Júnior",
            "Erling Haaland",
            "Jude Bellingham",
            "Vini Jr",
            "VINI JR",
            "Jude Bellingham",
            "Kylian Mbappé",
        ];
        for batch in [1, 2, 3, 64] {
            let [single, batched] = one_by_one_and_batched(&names, batch);
            assert_eq!(single, batched, "batches of {batch}");
        }
        let [single, _] = one_by_one_and_batched(&names, 3);
        assert_eq!(single.0, vec![0, 1, 1, 0, 1, 2, 0, 0, 2, 3]);
        assert_eq!(single.1[0], "Vinícius Júnior");
        assert_eq!(single.2[1], ["Erling Haaland", "erling haaland"]);
        let mut empty = NameTable::new(NameKind::Player);
        let mut ids = Vec::new();
        empty.intern_batch(&mut NameBatch::default(), &Aliases::default(), &mut ids);
        assert!(ids.is_empty() && empty.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn key_prefixes_order_keys_as_bytes_do(a in "[a-c\\x00 ]{0,20}", b in "[a-c\\x00 ]{0,20}") {
            // Where the prefixes differ they decide, and as the whole keys would.
            let by_prefix = key_prefix(&a).cmp(&key_prefix(&b)).then_with(|| a.cmp(&b));
            proptest::prop_assert_eq!(by_prefix, a.cmp(&b));
        }
    }

    #[test]
    fn canonical_order_sorts_keys_longer_than_their_prefix() {
        let aliases = Aliases::default();
        let mut t = NameTable::new(NameKind::Player);
        let names = [
            "Youssef Son Kolo Muani 2",
            "Youssef Son Kolo Muani 10",
            "Youssef Son Kolo",
            "Youssef Son Kolo Muani",
            "Abel",
            "Youssef Son Kolo Muani 1",
        ];
        for n in names {
            t.intern(n, &aliases);
        }
        let old_to_new = t.canonical_order();
        assert_eq!(old_to_new, vec![5, 4, 1, 2, 0, 3]);
        let keys: Vec<&str> = (0..t.len() as u32).map(|id| t.key_of(id)).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
    }

    /// `fold` as it was written before its ASCII path: every character of deunicode's text.
    fn fold_by_chars(raw: &str) -> String {
        let shown: String = raw
            .chars()
            .filter(|c| {
                *c != '\u{200B}' && (!c.is_ascii_control() || "\t\n\u{b}\u{c}\r".contains(*c))
            })
            .collect();
        let ascii = deunicode::deunicode_with_tofu_cow(&shown, "[?]");
        let mut out = String::new();
        let mut pending_space = false;
        for c in ascii.chars() {
            if c.is_ascii_alphanumeric() {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(c.to_ascii_lowercase());
            } else if c != '\'' {
                pending_space = true;
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn folding_by_bytes_is_folding_by_characters(raw in "[ -~éøßÆ\u{e000}\u{1f600}\u{0}\u{7}\t\u{b}\u{1f}\u{7f}\u{200b}]{0,30}") {
            proptest::prop_assert_eq!(fold(&raw), fold_by_chars(&raw));
        }
    }
}
