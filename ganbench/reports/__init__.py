"""Reports made from the store: the leaderboard and its formats, paired comparisons, tables, pictures, escaping."""
