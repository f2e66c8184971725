"""Collections: the timeline the daily cycle runs (timeline), the admins' queue and its actions
(tasks), what lenders may see (activity) and the agency fee on recoveries (agency)."""
