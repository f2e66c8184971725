"""RQ worker: `python worker.py [--burst] [queue ...]` (default queue: "default"). Needs REDIS_URL."""

import sys

from redis import Redis
from rq import Worker

from app import create_app
from app.background.forking import warm_before_forking

app = create_app()

if __name__ == "__main__":
    arguments = sys.argv[1:]
    burst = "--burst" in arguments
    queues = [name for name in arguments if name != "--burst"] or list(app.config["RQ_QUEUES"])
    if not app.config["REDIS_URL"]:
        sys.exit("REDIS_URL is not set: without Redis, jobs run inside the web process.")
    # Jobs run in the forked work-horse and inherit this app context, warmed once here.
    with app.app_context():
        warm_before_forking()
        redis = Redis.from_url(app.config["REDIS_URL"])
        beat = app.config["RQ_JOB_MONITORING_INTERVAL"]
        Worker(queues, connection=redis, job_monitoring_interval=beat).work(
            burst=burst, with_scheduler=not burst
        )
