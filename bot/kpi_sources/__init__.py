"""Where a KPI's readings can come from besides a person: an MLflow tracking server and a Prometheus server.

`spec` says what a source is and how it reads in a command; `outcome` what reading one gives; `mlflow` and
`prometheus` read them over HTTP (never by importing either project's client); `readers` builds them from the
settings. Nothing here touches the database or Slack.
"""
