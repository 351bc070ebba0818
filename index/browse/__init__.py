"""What the leaders' pages read per generation: projects, councils, themes and related work (:mod:`.catalogue`),
the pages' data computed at build time (:mod:`.pages`) and the theme taxonomy (:mod:`.taxonomy`)."""
