//! Unit tests of the SQLite frontier.
