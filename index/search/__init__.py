"""The query path: parse (:mod:`.query`) → retrieve (:mod:`.retrievers`) → rank (:mod:`.ranking`, the whole
formula) → group, page, highlight and explain (:mod:`.searcher`, :mod:`.highlight`, :mod:`.explain`); search
facets (:mod:`.facets`), synonyms, spelling (:mod:`.vocabulary`), the optional cross-encoder (:mod:`.rerank`)
and the typed response (:mod:`.results`)."""
