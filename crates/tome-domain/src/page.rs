//! Cursor pagination: `?limit=&cursor=` → `{"items": [...], "next_cursor": …}`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DomainError;

/// The default and the largest page size.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// One page request. Pages run newest first; the cursor is the id of the last row seen
/// (ids are UUIDv7, so id order is creation order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Uuid>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, after: None }
    }
}

impl PageRequest {
    /// Parses the wire form; a bad limit or cursor is an `Invalid` error naming the field.
    pub fn parse(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, DomainError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(0) => return Err(DomainError::invalid("limit", "must be at least 1")),
            Some(limit) if limit > MAX_LIMIT => {
                return Err(DomainError::invalid("limit", format!("must be at most {MAX_LIMIT}")));
            }
            Some(limit) => limit,
        };
        let after = match cursor {
            None | Some("") => None,
            Some(raw) => Some(
                Uuid::parse_str(raw)
                    .map_err(|_| DomainError::invalid("cursor", "is not a cursor from a previous page"))?,
            ),
        };
        Ok(Self { limit, after })
    }

    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }
}

/// One page of results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched newest first: the extra row only
    /// tells that another page exists.
    pub fn from_rows(mut rows: Vec<T>, request: PageRequest, id: impl Fn(&T) -> Uuid) -> Self {
        let limit = request.limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|row| id(row).to_string())
        } else {
            None
        };
        Self { items: rows, next_cursor }
    }

    /// Pages through rows that are already complete and sorted (a small catalog): the page
    /// starts after the row whose id is the cursor.
    pub fn from_sorted(rows: Vec<T>, request: PageRequest, id: impl Fn(&T) -> Uuid) -> Self {
        let start = match request.after {
            Some(after) => rows.iter().position(|row| id(row) == after).map_or(rows.len(), |i| i + 1),
            None => 0,
        };
        let rows: Vec<T> = rows.into_iter().skip(start).take(request.limit as usize + 1).collect();
        Self::from_rows(rows, request, id)
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_or_oversized_limit_is_rejected_with_the_field_name() {
        assert!(
            matches!(PageRequest::parse(Some(0), None), Err(DomainError::Invalid { field, .. }) if field == "limit")
        );
        assert!(PageRequest::parse(Some(MAX_LIMIT + 1), None).is_err());
        assert_eq!(PageRequest::parse(None, None).map(|p| p.limit).ok(), Some(DEFAULT_LIMIT));
    }

    #[test]
    fn garbage_cursor_is_rejected() {
        assert!(
            matches!(PageRequest::parse(None, Some("abc")), Err(DomainError::Invalid { field, .. }) if field == "cursor")
        );
    }

    #[test]
    fn extra_row_becomes_the_next_cursor() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_rows(ids.clone(), PageRequest::first(2), |id| *id);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_cursor, Some(ids[1].to_string()));
        let last = Page::from_rows(ids[..2].to_vec(), PageRequest::first(2), |id| *id);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn sorted_rows_page_after_the_cursor_row() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        let first = Page::from_sorted(ids.clone(), PageRequest::first(2), |id| *id);
        assert_eq!(first.items, ids[..2]);
        let after = PageRequest::parse(Some(2), first.next_cursor.as_deref()).unwrap_or_default();
        let second = Page::from_sorted(ids.clone(), after, |id| *id);
        assert_eq!(second.items, ids[2..4]);
        let unknown = PageRequest { limit: 2, after: Some(Uuid::new_v4()) };
        assert!(Page::from_sorted(ids, unknown, |id| *id).items.is_empty());
    }
}
