//! Full-text search over the messages of a user's conversations.

use crate::error::ChatResult;
use crate::model::SearchFilter;
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Float4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{MessageId, UserId};

/// A matching message id with its rank.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct Hit {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) id: MessageId,
    /// Its relevance (higher first).
    #[diesel(sql_type = Float4)]
    pub(crate) rank: f32,
}

/// Messages of `user`'s conversations containing every word of `words` and passing `filter`, best first,
/// then newest; after `(rank, id)`; `limit + 1` rows.
///
/// Each word is rewritten like the stored vector (CJK runs into bigrams) and matched as a phrase; the words
/// are ANDed. The GIN index on the vector finds the candidates; membership is a join inside the query, so other
/// people's conversations are never scanned into the result; the sender and time range are checked on the row
/// (or, for a narrow sender, with `messages_sender_idx`), files and mentions by a primary-key or index probe per
/// candidate (`message_attachments_message_id_idx`, the `message_mentions` key). Thread replies are messages
/// like any other: they are found wherever they are shown.
pub(crate) async fn search(
    conn: &mut AsyncPgConnection,
    user: UserId,
    words: &[String],
    filter: &SearchFilter,
    after: Option<(f32, MessageId)>,
    limit: i64,
) -> ChatResult<Vec<Hit>> {
    let (after_rank, after_id) = after.map_or((None, None), |(r, i)| (Some(r), Some(i)));
    Ok(diesel::sql_query(
        "WITH q AS (
             SELECT (SELECT string_agg('(' || t::text || ')', ' & ')
                     FROM (SELECT phraseto_tsquery('simple', epop_search_text(w)) AS t
                           FROM unnest($2::text[]) AS w) AS words
                     WHERE numnode(t) > 0)::tsquery AS query
         ),
         hits AS (
             SELECT m.id, ts_rank(m.search_vector, q.query) AS rank
             FROM q, messages m
             JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $1
             WHERE m.search_vector @@ q.query
               AND m.deleted_at IS NULL
               AND ($3::uuid IS NULL OR m.conversation_id = $3)
               AND ($7::uuid IS NULL OR m.sender_id = $7)
               AND (NOT $8 OR EXISTS (SELECT 1 FROM message_attachments a WHERE a.message_id = m.id))
               AND ($9::uuid IS NULL
                    OR EXISTS (SELECT 1 FROM message_mentions mm WHERE mm.message_id = m.id AND mm.user_id = $9))
               AND ($10::timestamptz IS NULL OR m.created_at >= $10)
               AND ($11::timestamptz IS NULL OR m.created_at < $11)
         )
         SELECT id, rank FROM hits
         WHERE $4::real IS NULL OR (rank, id) < ($4, $5)
         ORDER BY rank DESC, id DESC
         LIMIT $6",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Array<Text>, _>(words)
    .bind::<Nullable<SqlUuid>, _>(filter.conversation)
    .bind::<Nullable<Float4>, _>(after_rank)
    .bind::<Nullable<SqlUuid>, _>(after_id)
    .bind::<BigInt, _>(limit + 1)
    .bind::<Nullable<SqlUuid>, _>(filter.sender)
    .bind::<Bool, _>(filter.has_file)
    .bind::<Nullable<SqlUuid>, _>(filter.mentions)
    .bind::<Nullable<Timestamptz>, _>(filter.sent_after)
    .bind::<Nullable<Timestamptz>, _>(filter.sent_before)
    .load(conn)
    .await?)
}
