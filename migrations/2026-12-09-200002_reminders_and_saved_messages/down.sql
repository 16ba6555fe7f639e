DROP TABLE saved_messages;
DROP TABLE message_reminders;
