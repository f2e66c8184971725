"""The outside world behind interfaces the services own: payment gateways and SMTP."""
