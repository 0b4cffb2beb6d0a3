"""The detection rule pack (Sigma YAML), shipped in the wheel as ``onepassword_ecs.rules``.

One ``<name>.yml`` per rule; ``<name>.cases.json`` beside it holds its test cases (raw
records and the alerts they must raise); ``pipelines/`` holds the pySigma processing
pipelines of the export targets; ``attack.json`` is the subset of MITRE ATT&CK the rules
cite, so nothing downloads it.
"""
