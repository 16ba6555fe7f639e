//! Sends into one conversation, numbered in batches.
//!
//! A message's `seq` is taken under the conversation's row lock, which is held until commit, so sends into
//! one conversation follow one another; with one transaction per send, a hot conversation is capped at one
//! WAL flush per message. Here the sends of a conversation that arrive while one is being written wait for
//! it, then go together: one transaction locks the conversation once, numbers them in arrival order (still
//! gapless, in commit order), writes them with set-based statements, and commits once, so N concurrent sends
//! cost one flush. With no concurrency a batch is one send, as before. The queue of a conversation holds only
//! requests in flight (each an HTTP request or socket event waiting for its answer), and a batch is at most
//! [`MAX_BATCH`] sends.

use crate::error::{ChatError, ChatResult};
use crate::mentions::ResolvedMentions;
use crate::model::{Message, Sent, ThreadReply};
use crate::repo::messages::MessageRow;
use epop_core::{AttachmentId, ConversationId, ScheduledMessageId, UserId};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// The most sends written in one transaction.
pub(crate) const MAX_BATCH: usize = 64;

/// One checked send waiting to be written.
pub(crate) struct Submission {
    pub(crate) sender: UserId,
    pub(crate) content: String,
    pub(crate) client_id: Option<String>,
    /// The files to attach, each with its object's ETag when it was checked.
    pub(crate) attachments: Vec<(AttachmentId, Option<String>)>,
    pub(crate) origin: Option<String>,
    /// The thread it replies to (its root checked when it was submitted).
    pub(crate) thread: Option<ThreadReply>,
    /// What it mentions, resolved against the conversation when it was submitted.
    pub(crate) mentions: ResolvedMentions,
    /// The scheduled message it posts: its row goes in the same transaction, so it is posted once.
    pub(crate) scheduled: Option<ScheduledMessageId>,
    pub(crate) reply: oneshot::Sender<ChatResult<Written>>,
}

/// What became of a send in its batch.
pub(crate) enum Written {
    /// Answered as is (a new message, or the first of a `client_id` sent twice in one batch).
    Sent(Sent),
    /// The `client_id` was used before this batch: the first message, to be shown as it is now.
    Existing(MessageRow),
}

impl Written {
    pub(crate) fn created(message: Message) -> Self {
        Written::Sent(Sent::Created(message))
    }
}

/// The sends waiting, per conversation; a conversation has an entry while a writer task drains it.
#[derive(Default)]
pub(crate) struct SendBatcher {
    pending: Mutex<HashMap<ConversationId, Vec<Submission>>>,
}

impl std::fmt::Debug for SendBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatcher").finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SendBatcher {
    /// Queues `submission`; returns `true` when the caller must start the conversation's writer (no writer
    /// was draining it).
    pub(crate) fn queue(&self, conversation: ConversationId, submission: Submission) -> bool {
        let mut pending = lock(&self.pending);
        match pending.get_mut(&conversation) {
            Some(queue) => {
                queue.push(submission);
                false
            }
            None => {
                pending.insert(conversation, vec![submission]);
                true
            }
        }
    }

    /// The next batch of the conversation, or `None` (and the entry removed, so the next send starts a new
    /// writer) when nothing waits.
    pub(crate) fn next_batch(&self, conversation: ConversationId) -> Option<Vec<Submission>> {
        let mut pending = lock(&self.pending);
        match pending.get_mut(&conversation) {
            Some(queue) if !queue.is_empty() => {
                let take = queue.len().min(MAX_BATCH);
                Some(queue.drain(..take).collect())
            }
            _ => {
                pending.remove(&conversation);
                None
            }
        }
    }
}

/// The error every send of a failed batch gets, when the batch was a single send (bigger batches are retried
/// send by send, so each gets its own error).
pub(crate) fn answer_all(batch: Vec<Submission>, error: ChatError) {
    let mut error = Some(error);
    for submission in batch {
        let answer = error
            .take()
            .unwrap_or(ChatError::SendLost("its batch failed with another send's error"));
        let _ = submission.reply.send(Err(answer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(content: &str) -> (Submission, oneshot::Receiver<ChatResult<Written>>) {
        let (reply, answer) = oneshot::channel();
        (
            Submission {
                sender: UserId::new(),
                content: content.to_owned(),
                client_id: None,
                attachments: Vec::new(),
                origin: None,
                thread: None,
                mentions: ResolvedMentions::default(),
                scheduled: None,
                reply,
            },
            answer,
        )
    }

    #[test]
    fn the_first_send_starts_the_writer_and_later_ones_join_its_next_batch() {
        let batcher = SendBatcher::default();
        let conversation = ConversationId::new();
        assert!(batcher.queue(conversation, submission("a").0));
        assert!(!batcher.queue(conversation, submission("b").0));
        let first = batcher.next_batch(conversation).unwrap();
        assert_eq!(first.len(), 2);
        // While the writer works, a send waits for the next batch without starting another writer.
        assert!(!batcher.queue(conversation, submission("c").0));
        let second = batcher.next_batch(conversation).unwrap();
        assert_eq!(
            second.iter().map(|s| s.content.as_str()).collect::<Vec<_>>(),
            ["c"]
        );
        assert!(batcher.next_batch(conversation).is_none());
        // The drained conversation has no entry: the next send starts a writer again.
        assert!(batcher.queue(conversation, submission("d").0));
    }

    #[test]
    fn a_batch_holds_at_most_max_batch_sends_in_arrival_order() {
        let batcher = SendBatcher::default();
        let conversation = ConversationId::new();
        for i in 0..(MAX_BATCH + 3) {
            batcher.queue(conversation, submission(&i.to_string()).0);
        }
        let first = batcher.next_batch(conversation).unwrap();
        assert_eq!(first.len(), MAX_BATCH);
        assert_eq!(first[0].content, "0");
        assert_eq!(batcher.next_batch(conversation).unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_failed_single_send_gets_the_error_itself() {
        let (one, answer) = submission("x");
        answer_all(vec![one], ChatError::NotFound);
        assert!(matches!(answer.await, Ok(Err(ChatError::NotFound))));
    }
}
