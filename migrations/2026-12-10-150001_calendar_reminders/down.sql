DROP TABLE calendar_event_reminders;
