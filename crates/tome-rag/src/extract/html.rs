//! HTML (html5ever through scraper): the visible text of the body, one section per block
//! element, under the path of `h1`–`h6` headings seen so far. Scripts, styles and
//! navigation chrome are skipped.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

use super::{Location, Section, tidy};

const SKIPPED: [&str; 8] = ["script", "style", "noscript", "template", "head", "nav", "svg", "iframe"];
const BLOCKS: [&str; 24] = [
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "blockquote",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "dd",
    "dt",
    "dl",
    "figure",
    "figcaption",
    "br",
    "hr",
];

fn heading_level(name: &str) -> Option<usize> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

pub(super) fn extract(source: &str) -> Vec<Section> {
    let document = Html::parse_document(source);
    let mut sections = Vec::new();
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut buffer = String::new();
    let mut skipping = 0usize;
    let path = |headings: &[(usize, String)]| headings.iter().map(|(_, h)| h.clone()).collect::<Vec<String>>();
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(element) if SKIPPED.contains(&element.name()) => skipping += 1,
                Node::Element(element) if skipping == 0 => {
                    let name = element.name();
                    if heading_level(name).is_some() || BLOCKS.contains(&name) {
                        flush(&mut sections, &mut buffer, path(&headings));
                    }
                }
                Node::Text(text) if skipping == 0 => {
                    buffer.push_str(text);
                }
                _ => {}
            },
            Edge::Close(node) => match node.value() {
                Node::Element(element) if SKIPPED.contains(&element.name()) => skipping = skipping.saturating_sub(1),
                Node::Element(element) if skipping == 0 => {
                    if let Some(level) = heading_level(element.name()) {
                        let title = tidy(&std::mem::take(&mut buffer));
                        if !title.is_empty() {
                            headings.retain(|(existing, _)| *existing < level);
                            headings.push((level, title.clone()));
                            let location = Location { heading_path: path(&headings), ..Default::default() };
                            sections.push(Section { text: title, location });
                        }
                    } else if BLOCKS.contains(&element.name()) {
                        flush(&mut sections, &mut buffer, path(&headings));
                    }
                }
                _ => {}
            },
        }
    }
    flush(&mut sections, &mut buffer, path(&headings));
    sections
}

fn flush(sections: &mut Vec<Section>, buffer: &mut String, heading_path: Vec<String>) {
    let text = tidy(&std::mem::take(buffer));
    if !text.is_empty() {
        sections.push(Section { text, location: Location { heading_path, ..Default::default() } });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_is_kept_under_its_headings_and_scripts_are_not() {
        let page = "<html><head><title>T</title><script>var secret = 1;</script></head><body>\
            <h1>Handbook</h1><p>Welcome <b>all</b>.</p><h2>Leave</h2><ul><li>Ask early</li></ul>\
            <style>p{}</style><h1>Other</h1><div>Tail</div></body></html>";
        let sections = extract(page);
        let texts: Vec<&str> = sections.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["Handbook", "Welcome all.", "Leave", "Ask early", "Other", "Tail"]);
        assert_eq!(sections[3].location.heading_path, ["Handbook", "Leave"]);
        assert_eq!(sections[5].location.heading_path, ["Other"]);
    }
}
