//! Generates the typed `CheckId` from the catalog table (`src/catalog/table.rs`): one variant
//! per row, in the table's order, so that `CheckId::meta` is an index and adding a check to the
//! table is the only edit a new check ID needs. A row's ID `WL-001` becomes `CheckId::Wl001`.

use std::fmt::Write as _;

fn main() {
    let table = "src/catalog/table.rs";
    println!("cargo:rerun-if-changed={table}");
    let text = std::fs::read_to_string(table).expect("read the catalog table");
    // A row's `id: CheckId::Wl001,` is the check `WL-001`.
    let ids: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("id: CheckId::")?.strip_suffix(','))
        .map(|v| {
            let digits = v.find(|c: char| c.is_ascii_digit()).unwrap_or(v.len());
            format!("{}-{}", v[..digits].to_ascii_uppercase(), &v[digits..])
        })
        .collect();
    assert!(ids.len() > 100, "{table}: only {} rows found", ids.len());
    let variant = |id: &String| -> String {
        let (prefix, number) = id
            .split_once('-')
            .unwrap_or_else(|| panic!("{table}: check ID {id:?} has no dash"));
        assert!(
            !prefix.is_empty()
                && prefix.bytes().all(|b| b.is_ascii_uppercase())
                && number.len() == 3
                && number.bytes().all(|b| b.is_ascii_digit()),
            "{table}: check ID {id:?} is not FAMILY-NNN"
        );
        let mut v = prefix[..1].to_string();
        v.push_str(&prefix[1..].to_ascii_lowercase());
        v.push_str(number);
        v
    };
    let mut out = String::new();
    out.push_str(
        "/// A check of the catalog, generated from `catalog/table.rs` by `build.rs`: the \
         variants are the table's rows, in order.\n\
         #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\n\
         pub enum CheckId {\n",
    );
    for id in &ids {
        writeln!(out, "    /// `{id}`\n    {},", variant(id)).unwrap();
    }
    out.push_str("}\n\nimpl CheckId {\n    /// Every check, in the catalog's order.\n    pub const ALL: &'static [CheckId] = &[\n");
    for id in &ids {
        writeln!(out, "        CheckId::{},", variant(id)).unwrap();
    }
    out.push_str("    ];\n\n    /// The ID as the catalog, reports and policies write it: `WL-001`.\n    pub const fn as_str(self) -> &'static str {\n        match self {\n");
    for id in &ids {
        writeln!(out, "            CheckId::{} => \"{id}\",", variant(id)).unwrap();
    }
    out.push_str("        }\n    }\n\n");
    // Reports sort by check ID as text: each variant's place in that order, so that comparing
    // two IDs (100,000 times in a large report's sort) compares two numbers, not two strings.
    let mut by_text: Vec<&String> = ids.iter().collect();
    by_text.sort();
    out.push_str("    /// The ID's place among all IDs sorted as text.\n    pub const fn rank(self) -> u16 {\n        match self {\n");
    for id in &ids {
        let rank = by_text.iter().position(|t| *t == id).unwrap();
        writeln!(out, "            CheckId::{} => {rank},", variant(id)).unwrap();
    }
    out.push_str("        }\n    }\n}\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("check_id.rs");
    std::fs::write(dest, out).expect("write check_id.rs");
}
