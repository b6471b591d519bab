//! Which rows of an ordered list one page takes.

/// The rows strictly between `after` and `before` (either end may be open), taken from the
/// start of the list, or from its end when `from_end`. A repository loads `limit + 1` rows
/// in the order they are taken (backwards when `from_end`), so that the caller learns whether
/// more rows lie beyond the page.
#[derive(Clone, Debug)]
pub struct Slice<K> {
    pub after: Option<K>,
    pub before: Option<K>,
    pub from_end: bool,
    /// The page's size: at most this many rows are shown.
    pub limit: i64,
}

impl<K> Slice<K> {
    /// The same slice with each cursor key turned into another.
    pub fn map<L>(self, mut f: impl FnMut(K) -> L) -> Slice<L> {
        Slice {
            after: self.after.map(&mut f),
            before: self.before.map(&mut f),
            from_end: self.from_end,
            limit: self.limit,
        }
    }

    /// Rows to load: one more than the page.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}
