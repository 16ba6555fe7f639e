//! The enums of the wire whose values are fixed words (`"owner"`, `"in_progress"`, `"task_assigned"` …): one
//! macro gives each the same serde names as its stored text, parsing, and its Diesel mapping to `text`, so a
//! repository reads and writes the enum itself and no handler or service keeps a copy of its words.

/// A stored or received value that is not one of an enum's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value `{0}`")]
pub struct UnknownValue(pub String);

/// Declares a fieldless enum whose variants are written as the given words (each the variant's name in snake
/// case): `Serialize`/`Deserialize` with
/// those names, `as_str`, `ALL`, `FromStr` ([`UnknownValue`] otherwise), `Display`, the `openapi` schema
/// (behind the calling crate's `openapi` feature) and a Diesel expression of SQL type `text` that loads back
/// (an unknown stored word is a deserialization error).
#[macro_export]
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
            ::diesel::expression::AsExpression,
            ::diesel::deserialize::FromSqlRow,
        )]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[diesel(sql_type = ::diesel::sql_types::Text)]
        // The words are the variants' names in snake case (the OpenAPI schema reads `rename_all`, not a rename per
        // variant); the `wire_enums_are_their_words` test checks that they match `$text`.
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in the documented order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::model::UnknownValue;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::model::UnknownValue(other.to_owned())),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::diesel::serialize::ToSql<::diesel::sql_types::Text, ::diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, ::diesel::pg::Pg>,
            ) -> ::diesel::serialize::Result {
                ::std::io::Write::write_all(out, self.as_str().as_bytes())?;
                Ok(::diesel::serialize::IsNull::No)
            }
        }

        impl ::diesel::deserialize::FromSql<::diesel::sql_types::Text, ::diesel::pg::Pg> for $name {
            fn from_sql(bytes: ::diesel::pg::PgValue<'_>) -> ::diesel::deserialize::Result<Self> {
                Ok(::std::str::from_utf8(bytes.as_bytes())?.parse::<$name>()?)
            }
        }
    };
}
