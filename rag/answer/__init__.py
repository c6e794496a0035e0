"""What happens to an answer after the model wrote it, as one pipeline read top to bottom (pipeline.PIPELINE).

The question is parsed once (question.QuestionInfo); each check (checks/) reads it and the Draft, and says what it
did (an Outcome); the runner records every action in Answer.trace. docs/checks.md is generated from the list.
This package imports nothing at its top so that rag.questions and the rest can read its lexicon.
"""
