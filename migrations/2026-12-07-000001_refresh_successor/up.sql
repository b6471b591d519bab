-- A rotated refresh token keeps its successor, sealed with the rotated token itself (which is
-- never stored), so that a client retrying a refresh whose answer it lost can be given the
-- same successor again within a short grace window.
ALTER TABLE refresh_tokens ADD COLUMN successor_sealed bytea;
