"""The help desk: what supportflow does to a conversation, apart from how it is stored.

- `ingestion`   an event comes in: mirror it, start the runs it triggers, feed its SLA tracker.
- `mirror`      the conversations, customers and messages supportflow has seen (SPEC §3).
- `state`       the fresh state conditions and templates read, and the conversation view.
- `actions`     apply one action step exactly once (one small function per action), with
  `routing`, `escalation`, `notifications`, `emitted` (events our actions cause) and
  `webhook_payload` (what the outbound webhook receives).
- `sentiment`   VADER scores for customer messages.

Tables and repositories live in `store/`; the definitions language in `definitions/`.
"""
