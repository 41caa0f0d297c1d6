"""The ``crm`` operator command line and the developer tools it drives (the local Kafka runner, replays)."""
