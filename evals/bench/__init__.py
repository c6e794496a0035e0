"""`newsrag bench`: how fast and how big, against the raw limits of this machine and a naive LangChain baseline.

corpus (a generated news corpus), ingestion, retrieval, answer, memory, embedding (one module per
benchmark), measure (percentiles, rates, the machine), run (runs them, renders the table). See
docs/performance.md for the latest figures.
"""
