//! Article text: folded for matching, with a map back to the original, and split into
//! sentences.

/// Text folded the way names are (`normalise::fold`: Unicode folded to ASCII, lower
/// case, punctuation as single spaces), padded with one space at each end, with the offset in
/// the original text of every folded byte. A possessive `'s` is a word boundary here
/// (`Marseille's` → `marseille`), while other apostrophes join as in names (`N'Golo`).
#[derive(Debug, Clone, Default)]
pub struct Folded {
    pub text: String,
    /// `orig[i]`: byte offset in the original of the character folded byte `i` came from.
    pub orig: Vec<usize>,
}

impl Folded {
    pub fn new(raw: &str) -> Folded {
        let mut text = String::with_capacity(raw.len() + 2);
        let mut orig = Vec::with_capacity(raw.len() + 2);
        text.push(' ');
        orig.push(0);
        let mut pending_space = false;
        let mut chars = raw.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let ascii: &str = if c.is_ascii() {
                // A one-byte slice of the original.
                &raw[i..i + 1]
            } else {
                deunicode::deunicode_char(c).unwrap_or(" ")
            };
            for a in ascii.chars() {
                if a.is_ascii_alphanumeric() {
                    if pending_space {
                        text.push(' ');
                        orig.push(i);
                    }
                    pending_space = false;
                    text.push(a.to_ascii_lowercase());
                    orig.push(i);
                } else if a == '\'' {
                    // A possessive: `'s` before a non-letter ends the word.
                    let mut ahead = chars.clone();
                    let possessive = matches!(ahead.next(), Some((_, 's' | 'S')))
                        && ahead.next().is_none_or(|(_, n)| !n.is_alphanumeric());
                    if possessive {
                        chars.next();
                        pending_space = true;
                    }
                } else {
                    pending_space = true;
                }
            }
        }
        text.push(' ');
        orig.push(raw.len());
        Folded { text, orig }
    }

    /// The original byte range of the folded range `start..end`.
    pub fn original(&self, start: usize, end: usize, raw: &str) -> (usize, usize) {
        let from = self.orig[start.min(self.orig.len() - 1)];
        // The end: the original character of the last folded byte, to its end.
        let last = self.orig[end.saturating_sub(1).max(start).min(self.orig.len() - 1)];
        let to = raw[last..]
            .char_indices()
            .nth(1)
            .map_or(raw.len(), |(j, _)| last + j);
        (from, to.max(from))
    }
}

/// Whether the original text at byte `at` starts with an upper-case letter (names are
/// written with capitals; `forest` and `united` in running text are not clubs).
pub fn capitalised(raw: &str, at: usize) -> bool {
    raw[at.min(raw.len())..]
        .chars()
        .next()
        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
}

/// Sentence boundaries of `raw` as byte ranges: a `.`, `!` or `?` followed by white space and
/// an upper-case letter, a digit or a quote, or a line break. Abbreviations such as `St.` and
/// initials (`A. Smith`) do not end a sentence.
pub fn sentences(raw: &str) -> Vec<(usize, usize)> {
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let end_here = if b == b'\n' {
            true
        } else if matches!(b, b'.' | b'!' | b'?') {
            let next = raw[i + 1..].chars().next();
            let after = raw[i + 1..].trim_start_matches([' ', '\t']);
            let word_before = raw[start..i]
                .rsplit(|c: char| c.is_whitespace())
                .next()
                .unwrap_or("");
            let abbreviation = matches!(word_before, "St" | "Mr" | "Dr" | "Jr" | "vs" | "no")
                || (word_before.len() == 1 && word_before.chars().all(char::is_uppercase));
            next.is_some_and(char::is_whitespace)
                && !abbreviation
                && after.chars().next().is_some_and(|c| {
                    c.is_uppercase() || c.is_ascii_digit() || matches!(c, '"' | '\'' | '‘' | '“')
                })
        } else {
            false
        };
        if end_here {
            if raw[start..=i].trim().len() > 1 {
                out.push((start, i + 1));
            }
            start = i + 1;
        }
        i += 1;
    }
    if raw[start..].trim().len() > 1 {
        out.push((start, raw.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_a_map_to_the_original() {
        let raw = "Atlético's Félix, N'Golo";
        let f = Folded::new(raw);
        assert_eq!(f.text, " atletico felix ngolo ");
        let at = f.text.find("felix").expect("felix");
        let (a, b) = f.original(at, at + 5, raw);
        assert_eq!(&raw[a..b], "Félix");
        let at = f.text.find("atletico").expect("atletico");
        let (a, b) = f.original(at, at + 8, raw);
        assert_eq!(&raw[a..b], "Atlético");
    }

    #[test]
    fn sentences_split_on_full_stops_but_not_abbreviations() {
        let raw = "Leicester want St. Mirren's A. Smith. He is 23! Fee: £1.5m.\nNext line";
        let s: Vec<&str> = sentences(raw)
            .iter()
            .map(|&(a, b)| raw[a..b].trim())
            .collect();
        assert_eq!(
            s,
            [
                "Leicester want St. Mirren's A. Smith.",
                "He is 23!",
                "Fee: £1.5m.",
                "Next line"
            ]
        );
    }

    #[test]
    fn capitals() {
        assert!(capitalised("Forest", 0));
        assert!(!capitalised("forest", 0));
    }
}
