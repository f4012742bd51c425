"""The trainer space, the trainer's agenda (iCal, unavailabilities) and the sessions a trainer or a location had."""
