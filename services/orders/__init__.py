"""The orders service: the order saga, China landed cost and demand insights."""
