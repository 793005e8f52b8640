//! Text from the license server (error messages, machine names) on its way to a
//! person's terminal or window.
//!
//! The server, a proxy in front of it, or another user of the same license (who
//! names their machine) chooses these strings, so they are cleaned before anything
//! shows them: control characters would drive the terminal (ANSI escapes, cursor
//! moves, window titles), and bidirectional overrides and other invisible format
//! characters make text read differently from what it is (the "Trojan Source"
//! reordering, <https://trojansource.codes/>, and Unicode's own warning about them in
//! UTS #39, <https://www.unicode.org/reports/tr39/>).

/// `text` fit to show a person: C0 and C1 control characters and the line and
/// paragraph separators become a space, and format characters (general category
/// `Cf`: the bidi embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069,
/// the marks U+200E/U+200F and U+061C, zero-width characters, the BOM, tags, …) are
/// removed. Everything else, including letters of any script and emoji, is kept.
pub fn clean_text(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                Some(' ')
            } else if is_format(c) {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// `text` ended as a sentence: a full stop added unless it already ends with one, a
/// question mark or an exclamation mark (no "unlocked?.").
pub(crate) fn end_sentence(text: &str) -> String {
    let trimmed = text.trim_end();
    if trimmed.ends_with(['.', '?', '!']) {
        trimmed.to_owned()
    } else {
        format!("{trimmed}.")
    }
}

/// The characters of general category `Cf` (Unicode 15.1), plus the unassigned
/// U+2065 in the middle of the bidi isolates' block.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_spaces_and_format_characters_go() {
        assert_eq!(clean_text("slow\u{1b}[31m down"), "slow [31m down");
        assert_eq!(clean_text("a\nb\tc\u{85}d\u{2028}e"), "a b c d e");
        // "Trojan Source": the override would show "laptop" reversed as something else.
        assert_eq!(
            clean_text(
                "Anna\u{202e}spotpal\u{202c}\u{2066}x\u{2069}\u{200e}\u{200f}\u{200b}\u{feff}"
            ),
            "Annaspotpalx"
        );
        assert_eq!(clean_text("tag\u{E0041}\u{E007F}"), "tag");
    }

    #[test]
    fn readable_text_is_left_alone() {
        for text in [
            "Anna's laptop",
            "Büro-PC (Zürich)",
            "設計部のマシン",
            "مكتب",
            "🚀 box",
        ] {
            assert_eq!(clean_text(text), text);
        }
    }
}
