//! A line diff of two versions of a dashboard (their `to_json_pretty` outputs), for the page's
//! versions panel: Myers' algorithm from the `similar` crate (O((N+M)·D): a one-line change in
//! a 15,000-line dashboard costs little), with a deadline so a pathological pair degrades to a
//! coarser diff instead of stalling the page.

use similar::{ChangeTag, TextDiff};

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// In both.
    Same(&'a str),
    /// Only in the old text.
    Removed(&'a str),
    /// Only in the new text.
    Added(&'a str),
}

/// `old` → `new`, line by line (line ends not included).
pub fn diff_lines<'a>(old: &'a str, new: &'a str) -> Vec<Line<'a>> {
    let diff = TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .diff_lines(old, new);
    diff.iter_all_changes()
        .map(|c| {
            let text = c.value().trim_end_matches(['\n', '\r']);
            match c.tag() {
                ChangeTag::Equal => Line::Same(text),
                ChangeTag::Delete => Line::Removed(text),
                ChangeTag::Insert => Line::Added(text),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_changes_are_small() {
        let d = diff_lines("a\nb\nc\n", "a\nx\nc\n");
        assert_eq!(
            d,
            [
                Line::Same("a"),
                Line::Removed("b"),
                Line::Added("x"),
                Line::Same("c")
            ]
        );
        assert_eq!(diff_lines("", "a"), [Line::Added("a")]);
        assert_eq!(diff_lines("a", ""), [Line::Removed("a")]);
    }

    #[test]
    fn a_title_change_in_a_big_dashboard_is_two_lines() {
        let old: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 12345\n", "changed\n");
        let d = diff_lines(&old, &new);
        let changed: Vec<&Line> = d.iter().filter(|l| !matches!(l, Line::Same(_))).collect();
        assert_eq!(
            changed,
            [&Line::Removed("line 12345"), &Line::Added("changed")]
        );
    }
}
