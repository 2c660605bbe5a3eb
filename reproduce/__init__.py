"""The paper's comparison in one command (`scripts/reproduce_paper.py`): its rows and numbers
(`paper`), budgets (`budgets`), the plan of cached units (`plan`, `units`), what each unit runs
(`execute`) and the report built from the units' files (`report`, `figures`)."""
