"""ISA-95 B2MML (V0600, V0401) in and out: ``reader`` (safe parsing and the official XSDs in
``schemas/``), ``importer`` (schedules, material, performance), ``export`` (V0600
ProductionSchedule of a line's sequence or an order's jobs)."""
