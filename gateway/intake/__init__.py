"""The intake gateway: Falcon on gunicorn, durable before ack."""
