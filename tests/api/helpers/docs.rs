//! The project's documentation as tests read it: README.md, ARCHITECTURE.md
//! and every page of docs/, so a code, setting or example missing from the
//! docs fails a test wherever the docs keep it.

/// Every documentation file, by path from the repository's root.
pub struct Docs {
    files: Vec<(String, String)>,
}

/// Reads the documentation.
pub fn docs() -> Docs {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec!["README.md".to_owned(), "ARCHITECTURE.md".to_owned()];
    let mut pages: Vec<String> = std::fs::read_dir(root.join("docs"))
        .expect("a docs folder")
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    pages.sort();
    paths.extend(pages);
    let files = paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(root.join(&path)).unwrap();
            (path, text)
        })
        .collect();
    Docs { files }
}

impl Docs {
    /// The text of `path` (`README.md`, `docs/api.md`).
    pub fn file(&self, path: &str) -> &str {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, text)| text.as_str())
            .unwrap_or_else(|| panic!("no documentation file {path}"))
    }

    /// The section of `path` under `heading` (such as `## Errors`), up to the
    /// next heading of the same level.
    pub fn section(&self, path: &str, heading: &str) -> &str {
        let text = self.file(path);
        let start = text
            .find(&format!("\n{heading}\n"))
            .unwrap_or_else(|| panic!("{path} has no {heading}"));
        let level = heading.split(' ').next().unwrap();
        let rest = &text[start + 1..];
        let end = rest[heading.len()..]
            .find(&format!("\n{level} "))
            .map_or(rest.len(), |e| e + heading.len());
        &rest[..end]
    }

    /// Every fenced code block in `language`, in every file.
    pub fn blocks(&self, language: &str) -> Vec<&str> {
        let fence = format!("```{language}\n");
        self.files
            .iter()
            .flat_map(|(_, text)| text.split(fence.as_str()).skip(1))
            .filter_map(|block| block.split("```").next())
            .collect()
    }

    /// The text between the markers `<!-- NAME: … -->` and `<!-- end NAME -->`
    /// in `path`: a part of the docs written from the code. With `UPDATE_DOCS`
    /// set, `expected` is written there first.
    pub fn generated(&self, path: &str, name: &str, expected: &str) -> String {
        let text = self.file(path);
        let open = format!("<!-- {name}: ");
        let close = format!("<!-- end {name} -->");
        let start = text
            .find(&open)
            .unwrap_or_else(|| panic!("{path} has no {open}"));
        let start = start + text[start..].find("-->\n").unwrap() + 4;
        let end = text
            .find(&close)
            .unwrap_or_else(|| panic!("{path} has no {close}"));
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{expected}{}", &text[..start], &text[end..]);
            let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
            std::fs::write(file, updated).unwrap();
            return expected.to_owned();
        }
        text[start..end].to_owned()
    }
}
