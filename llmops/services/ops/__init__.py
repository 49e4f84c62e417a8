"""Operations: health, Prometheus metrics, the index-orphan sweeper."""
