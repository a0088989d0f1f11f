"""The one package of the app that talks to Temporal, through `temporal_edge`.

- `gateway.TemporalGateway`: the reconnecting client, health, run starts (the `RunStarter` of
  ingestion), run counts (cards, summary) and the SLA tracker refresh;
- `runs.RunsGateway`: run lists, details and traces from visibility and history; retry, cancel;
- `analytics.analytics_report`: trend, rates and durations from count queries only;
- `errors`: the domain errors the routes' callers see (mapped to HTTP by `app.errors`).

Built once in the lifespan (`app.main`) and read through `app.api.deps`.
"""
