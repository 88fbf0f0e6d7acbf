//! The tab-separated files `huoti eval` reads (manifests, face-match pairs): a header line
//! naming the columns, then one row a line; empty lines and lines starting with `#` are
//! ignored, and so are columns nobody asks for.

use std::path::Path;

use crate::dataset::DatasetError;

/// A parsed TSV: its header's columns (lower-cased) and its rows with their line numbers.
pub(crate) struct Tsv<'a> {
    path: &'a Path,
    header_line: usize,
    columns: Vec<String>,
    /// `(line number, fields)`, fields untrimmed.
    pub rows: Vec<(usize, Vec<&'a str>)>,
}

impl<'a> Tsv<'a> {
    /// Splits `text`; `path` names the file in errors. No header line is [`DatasetError::Empty`].
    pub fn parse(text: &'a str, path: &'a Path) -> Result<Tsv<'a>, DatasetError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        let (header_line, header) = lines.next().ok_or_else(|| DatasetError::Empty { path: path.to_path_buf() })?;
        let columns = header.split('\t').map(|c| c.trim().to_ascii_lowercase()).collect();
        let rows = lines.map(|(n, l)| (n, l.split('\t').collect())).collect();
        Ok(Tsv { path, header_line, columns, rows })
    }

    /// The index of the first of `names` the header has.
    pub fn optional(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.columns.iter().position(|c| c == n))
    }

    /// Like [`optional`](Self::optional), but a missing column is an error naming `names[0]`.
    pub fn required(&self, names: &[&'static str]) -> Result<usize, DatasetError> {
        self.optional(names).ok_or_else(|| DatasetError::MissingColumn {
            path: self.path.to_path_buf(),
            line: self.header_line,
            column: names[0],
            found: self.columns.join(", "),
        })
    }

    /// An error about row `line`.
    pub fn bad(&self, line: usize, message: String) -> DatasetError {
        DatasetError::BadLine { path: self.path.to_path_buf(), line, message }
    }
}

/// Field `i` of a row, trimmed (`""` when the row is short).
pub(crate) fn field<'a>(fields: &[&'a str], i: usize) -> &'a str {
    fields.get(i).map(|f| f.trim()).unwrap_or("")
}
