//! `Sql`: query text plus typed arguments, independent of the backend. `$N` placeholders
//! are produced by sqlx's `QueryBuilder` per backend when the query runs.

use serde_json::Value;
use sqlx::{Database, Postgres, QueryBuilder, Sqlite};
use time::{OffsetDateTime, UtcOffset};
use tome_domain::PageRequest;
use uuid::Uuid;

/// One bound value.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Uuid(Option<Uuid>),
    Text(Option<String>),
    Bool(bool),
    Int(Option<i64>),
    Float(Option<f64>),
    Time(Option<OffsetDateTime>),
    Json(Option<Value>),
    Bytes(Option<Vec<u8>>),
}

macro_rules! arg_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl From<$t> for Arg {
            fn from($v: $t) -> Self {
                $e
            }
        }
    )*};
}

arg_from!(
    Uuid => |v| Arg::Uuid(Some(v)),
    Option<Uuid> => |v| Arg::Uuid(v),
    String => |v| Arg::Text(Some(v)),
    &str => |v| Arg::Text(Some(v.to_owned())),
    &String => |v| Arg::Text(Some(v.clone())),
    Option<String> => |v| Arg::Text(v),
    Option<&str> => |v| Arg::Text(v.map(str::to_owned)),
    bool => |v| Arg::Bool(v),
    i32 => |v| Arg::Int(Some(i64::from(v))),
    Option<i32> => |v| Arg::Int(v.map(i64::from)),
    i64 => |v| Arg::Int(Some(v)),
    u32 => |v| Arg::Int(Some(i64::from(v))),
    f64 => |v| Arg::Float(Some(v)),
    Option<f64> => |v| Arg::Float(v),
    OffsetDateTime => |v| Arg::Time(Some(v)),
    Option<OffsetDateTime> => |v| Arg::Time(v),
    Value => |v| Arg::Json(Some(v)),
    Option<Value> => |v| Arg::Json(v),
    Vec<u8> => |v| Arg::Bytes(Some(v)),
    Option<Vec<u8>> => |v| Arg::Bytes(v),
);

macro_rules! arg_from_id {
    ($($id:ident),* $(,)?) => {$(
        impl From<tome_domain::$id> for Arg {
            fn from(v: tome_domain::$id) -> Self {
                Arg::Uuid(Some(v.0))
            }
        }
        impl From<Option<tome_domain::$id>> for Arg {
            fn from(v: Option<tome_domain::$id>) -> Self {
                Arg::Uuid(v.map(|id| id.0))
            }
        }
    )*};
}

arg_from_id!(
    TenantId,
    UserId,
    MembershipId,
    RoleId,
    PermissionId,
    UserRoleId,
    AuthSessionId,
    PasswordResetTokenId,
    ApiKeyId,
    FolderId,
    ProjectId,
    SocialLinkId,
    DocumentId,
    ChunkId,
    AuditEntryId,
    PersonaId,
    ConversationId,
    MessageId,
    FeedbackId,
    ObjectId,
    TranscriptionJobId,
    JobId,
    InvitationId,
);

/// A time as both databases should hold it. PostgreSQL gets a `timestamptz`; SQLite gets
/// fixed-width RFC 3339 text in UTC with microseconds, so that text order is time order
/// (sqlx's own encoding trims trailing zeros of the fraction, which breaks ordering).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DbTime(pub OffsetDateTime);

const SQLITE_TIME: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

impl DbTime {
    fn sqlite_text(self) -> String {
        self.0.to_offset(UtcOffset::UTC).format(SQLITE_TIME).unwrap_or_else(|_| self.0.unix_timestamp().to_string())
    }
}

impl sqlx::Type<Sqlite> for DbTime {
    fn type_info() -> <Sqlite as Database>::TypeInfo {
        <String as sqlx::Type<Sqlite>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, Sqlite> for DbTime {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <String as sqlx::Encode<'q, Sqlite>>::encode(self.sqlite_text(), buf)
    }
}

impl sqlx::Type<Postgres> for DbTime {
    fn type_info() -> <Postgres as Database>::TypeInfo {
        <OffsetDateTime as sqlx::Type<Postgres>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, Postgres> for DbTime {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <OffsetDateTime as sqlx::Encode<'q, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

/// Pushes one `Arg` as a bound parameter of a backend's query builder.
pub(crate) trait PushArg {
    fn push_arg(&mut self, arg: Arg);
}

macro_rules! impl_push_arg {
    ($db:ty) => {
        impl PushArg for QueryBuilder<'static, $db> {
            fn push_arg(&mut self, arg: Arg) {
                match arg {
                    Arg::Uuid(v) => self.push_bind(v),
                    Arg::Text(v) => self.push_bind(v),
                    Arg::Bool(v) => self.push_bind(v),
                    Arg::Int(v) => self.push_bind(v),
                    Arg::Float(v) => self.push_bind(v),
                    Arg::Time(v) => self.push_bind(v.map(DbTime)),
                    Arg::Json(v) => self.push_bind(v.map(sqlx::types::Json)),
                    Arg::Bytes(v) => self.push_bind(v),
                };
            }
        }
    };
}

impl_push_arg!(Sqlite);
impl_push_arg!(Postgres);

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    Arg(Arg),
}

/// Query text with arguments in place.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sql {
    parts: Vec<Part>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Self { parts: vec![Part::Text(text.into())] }
    }

    pub fn push(mut self, text: impl Into<String>) -> Self {
        self.parts.push(Part::Text(text.into()));
        self
    }

    pub fn bind(mut self, arg: impl Into<Arg>) -> Self {
        self.parts.push(Part::Arg(arg.into()));
        self
    }

    /// Appends another statement fragment with its arguments.
    pub fn push_sql(mut self, other: Sql) -> Self {
        self.parts.extend(other.parts);
        self
    }

    /// Appends ` AND column = value` when `value` is present.
    pub fn and_eq<T: Into<Arg>>(self, column: &str, value: Option<T>) -> Self {
        match value {
            Some(value) => self.push(format!(" AND {column} = ")).bind(value),
            None => self,
        }
    }

    /// Newest first after the cursor, one row more than the page to tell whether more exist.
    pub fn page(self, page: PageRequest) -> Self {
        let sql = match page.after {
            Some(after) => self.push(" AND id < ").bind(after),
            None => self,
        };
        sql.push(" ORDER BY id DESC LIMIT ").bind(i64::from(page.limit) + 1)
    }

    /// `INSERT INTO table (columns) VALUES (values) RETURNING returning`.
    pub fn insert(table: &str, values: Vec<(&str, Arg)>, returning: &str) -> Self {
        Self::insert_head(table, values, "VALUES (").push(format!(") RETURNING {returning}"))
    }

    /// `INSERT INTO table (columns) VALUES (values)`.
    pub fn insert_values(table: &str, values: Vec<(&str, Arg)>) -> Self {
        Self::insert_head(table, values, "VALUES (").push(")")
    }

    /// `INSERT INTO table (…) SELECT … WHERE ` — the caller appends the condition under
    /// which the row is written.
    pub fn insert_where(table: &str, values: Vec<(&str, Arg)>) -> Self {
        Self::insert_head(table, values, "SELECT ").push(" WHERE ")
    }

    fn insert_head(table: &str, values: Vec<(&str, Arg)>, source: &str) -> Self {
        let columns: Vec<&str> = values.iter().map(|(column, _)| *column).collect();
        let mut sql = Self::new(format!("INSERT INTO {table} ({}) {source}", columns.join(", ")));
        for (index, (_, value)) in values.into_iter().enumerate() {
            if index > 0 {
                sql = sql.push(", ");
            }
            sql = sql.bind(value);
        }
        sql
    }

    /// `UPDATE table SET … , updated_at = now WHERE ` — the caller appends the condition.
    pub fn update(table: &str, sets: Vec<(&str, Arg)>, now: OffsetDateTime) -> Self {
        let mut sql = Self::new(format!("UPDATE {table} SET updated_at = ")).bind(now);
        for (column, value) in sets {
            sql = sql.push(format!(", {column} = ")).bind(value);
        }
        sql.push(" WHERE ")
    }

    pub(crate) fn build<DB: Database>(self) -> QueryBuilder<'static, DB>
    where
        QueryBuilder<'static, DB>: PushArg,
    {
        let mut builder = QueryBuilder::<DB>::new("");
        for part in self.parts {
            match part {
                Part::Text(text) => {
                    builder.push(text);
                }
                Part::Arg(arg) => builder.push_arg(arg),
            }
        }
        builder
    }
}

/// Collects `(column, value)` pairs for the fields of a patch that are set.
#[derive(Default)]
pub(crate) struct Sets(pub Vec<(&'static str, Arg)>);

impl Sets {
    pub fn set<T: Into<Arg>>(mut self, column: &'static str, value: Option<T>) -> Self {
        if let Some(value) = value {
            self.0.push((column, value.into()));
        }
        self
    }
}

/// `values!["column" => value, …]`: the column/value list of an insert.
macro_rules! values {
    ($($column:literal => $value:expr),* $(,)?) => {
        vec![$(($column, $crate::sql::Arg::from($value))),*]
    };
}
pub(crate) use values;

/// A LIKE pattern matching `needle` anywhere, lower-cased, with `%`, `_` and `\` escaped
/// (use with `ESCAPE '\'`).
pub(crate) fn contains_pattern(needle: &str) -> String {
    let escaped = needle.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

impl Sql {
    /// Inserts `ON CONFLICT (key) DO UPDATE SET c = excluded.c, …` before the trailing
    /// `RETURNING` of an insert built by `Sql::insert`.
    pub fn on_conflict_update(self, key: &str, update: &[&str]) -> Self {
        let sets: Vec<String> = update.iter().map(|c| format!("{c} = excluded.{c}")).collect();
        self.before_returning(&format!(" ON CONFLICT ({key}) DO UPDATE SET {}", sets.join(", ")))
    }

    /// Inserts `clause` before the trailing `RETURNING` of a statement built by `Sql::insert`.
    pub fn before_returning(mut self, clause: &str) -> Self {
        if let Some(Part::Text(last)) = self.parts.last_mut()
            && let Some(at) = last.find(" RETURNING ")
        {
            last.insert_str(at, clause);
        }
        self
    }
}

impl Sql {
    /// Appends `tenant_id = $tenant AND id = $id`: the condition of every single-row
    /// statement on tenant-owned data.
    pub fn scoped(self, tenant: tome_domain::TenantId, id: impl Into<Arg>) -> Self {
        self.push("tenant_id = ").bind(tenant).push(" AND id = ").bind(id)
    }
}
