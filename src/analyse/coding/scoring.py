"""Fast scoring of parsed segments by a fitted :class:`~analyse.coding.autocode.SegmentCoder`.

Why this exists: scoring goes features → one linear product for every head. scikit-learn's
vectorizers analyse each text in Python, n-gram by n-gram (``_word_ngrams``, ``_count_vocab``),
which caps suggestions at about 5,000 segments/s; the target is 20,000/s on already-parsed text.
:class:`LinearScorer` reads the fitted vectorizers' vocabularies and weights once, then builds
the same TF-IDF values with whole-array operations:

* lemma unigrams and bigrams: every token of every segment is looked up at once
  (``pandas.Index.get_indexer``, a C hash table); a bigram is a pair of unigram ids, found in a
  sorted array of pair keys (``numpy.searchsorted``). With an integer ``min_df`` every word of a
  kept bigram is itself a kept unigram, which makes the pair key exact (checked at build time);
* character n-grams (``char_wb``): a segment's n-gram counts are the sum of its words' counts,
  so the words are factorised once (``pandas.factorize``) and ``W @ F`` (segments × distinct
  words times distinct words × n-grams) gives the counts, each distinct word analysed once;
* one-hot metadata: each column's category index, then a gather of the coefficients;
* then sublinear tf, idf and L2 norm as in :class:`~sklearn.feature_extraction.text.TfidfTransformer`,
  and each block multiplied by its slice of the stacked coefficients (no ``hstack``).

The scores equal the pipeline's (a test compares them on the bundled corpus and checks that every
decision is identical); anything this class does not reproduce exactly (another analyzer, a
float ``min_df``…) makes :meth:`LinearScorer.build` return None and the caller keeps the pipeline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp


def _split_all(texts, lower: bool = False) -> tuple[list[str], np.ndarray]:
    """Whitespace tokens of all texts in one list, and the number of tokens of each text."""
    tokens: list[str] = []
    lens = np.empty(len(texts), dtype=np.int64)
    extend = tokens.extend
    for i, t in enumerate(texts):
        words = (t.lower() if lower else t).split()
        extend(words)
        lens[i] = len(words)
    return tokens, lens


def _tfidf_scores(counts: sp.csr_matrix, vectorizer, weights: np.ndarray) -> np.ndarray:
    """``tfidf(counts) @ weights`` as ``TfidfTransformer`` then a product would give it, with less work.

    The idf is folded into the weights and the L2 norm is applied to the ``(n, heads)`` result
    rather than to every non-zero entry: ``||tf·idf||² = tf² @ idf²`` is one sparse product.
    ``counts`` (float) is changed in place.
    """
    tf = vectorizer._tfidf
    if tf.norm not in ("l2", None):
        raise ValueError("only the l2 norm is supported")
    data = counts.data
    if tf.sublinear_tf:
        # 1 + log(1) = 1: only the repeated terms change (most entries are 1)
        many = np.flatnonzero(data > 1.0)
        data[many] = np.log(data[many]) + 1.0
    idf = tf.idf_ if tf.use_idf else np.ones(counts.shape[1])
    out = np.asarray(counts @ (idf[:, None] * weights))
    if tf.norm == "l2":
        squared = sp.csr_matrix((data * data, counts.indices, counts.indptr), shape=counts.shape)
        norms = np.sqrt(squared @ (idf * idf))
        norms[norms == 0.0] = 1.0
        out /= norms[:, None]
    return out


class _WordNgrams:
    """Lemma unigrams and bigrams (``tokenizer=str.split``, ``lowercase=False``)."""

    def __init__(self, vec):
        vocab = vec.vocabulary_
        uni = {t: j for t, j in vocab.items() if " " not in t}
        self.uni_index = pd.Index(list(uni))
        self.uni_cols = np.fromiter(uni.values(), dtype=np.int64, count=len(uni))
        pos = {t: k for k, t in enumerate(uni)}
        keys, cols = [], []
        for t, j in vocab.items():
            if " " in t:
                a, b = t.split(" ")
                keys.append(pos[a] * len(uni) + pos[b])      # KeyError: not exact (caught by build)
                cols.append(j)
        order = np.argsort(keys)
        self.bi_keys = np.asarray(keys, dtype=np.int64)[order]
        self.bi_cols = np.asarray(cols, dtype=np.int64)[order]
        self.n_uni = len(uni)
        self.n_features = len(vocab)
        self.vec = vec

    def counts(self, texts) -> sp.csr_matrix:
        tokens, lens = _split_all(texts)
        n = len(texts)
        uid = (self.uni_index.get_indexer(np.array(tokens, dtype=object)) if tokens
               else np.zeros(0, dtype=np.int64))
        doc = np.repeat(np.arange(n), lens)
        known = uid >= 0
        rows, cols = [doc[known]], [self.uni_cols[uid[known]]]
        if self.bi_keys.size and uid.size > 1:
            a, b = uid[:-1], uid[1:]
            ok = (doc[:-1] == doc[1:]) & (a >= 0) & (b >= 0)
            keys = a[ok].astype(np.int64) * self.n_uni + b[ok]
            at = np.searchsorted(self.bi_keys, keys)
            at[at == self.bi_keys.size] = 0
            hit = self.bi_keys[at] == keys
            rows.append(doc[:-1][ok][hit])
            cols.append(self.bi_cols[at[hit]])
        r, c = np.concatenate(rows), np.concatenate(cols)
        m = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n, self.n_features))
        m.sum_duplicates()
        return m

    def scores(self, texts, weights: np.ndarray) -> np.ndarray:
        return _tfidf_scores(self.counts(texts), self.vec, weights)


class _CharNgrams:
    """``char_wb`` n-grams through the distinct words of the batch."""

    def __init__(self, vec):
        self.vec = vec
        self.n_features = len(vec.vocabulary_)

    def counts(self, texts) -> sp.csr_matrix:
        from sklearn.feature_extraction.text import CountVectorizer

        tokens, lens = _split_all(texts, lower=self.vec.lowercase)
        n = len(texts)
        if not tokens:
            return sp.csr_matrix((n, self.n_features))
        codes, words = pd.factorize(np.array(tokens, dtype=object), sort=False)
        indptr = np.r_[0, np.cumsum(lens)]
        # repeated words stay repeated in W: the product adds them up
        W = sp.csr_matrix((np.ones(len(codes)), codes, indptr), shape=(n, len(words)))
        F = CountVectorizer.transform(self.vec, list(words)).astype(np.float64)
        return (W @ F).tocsr()

    def scores(self, texts, weights: np.ndarray) -> np.ndarray:
        return _tfidf_scores(self.counts(texts), self.vec, weights)


class LinearScorer:
    """Scores of every head of a fitted logistic :class:`SegmentCoder`, computed without the pipeline.

    Examples
    --------
    >>> scorer = LinearScorer.build(model.pipeline_, model.coef_, model.intercept_)   # doctest: +SKIP
    >>> np.allclose(scorer.proba(X), model.pipeline_.predict_proba(X))               # doctest: +SKIP
    True
    """

    def __init__(self, blocks, meta, coef: np.ndarray, intercept: np.ndarray):
        self.blocks = blocks          # [(column, transformer, coef slice transposed)]
        self.meta = meta              # [(column, category index, coef columns)]
        self.intercept = np.asarray(intercept, dtype=float)

    @classmethod
    def build(cls, pipeline, coef: np.ndarray, intercept: np.ndarray) -> "LinearScorer | None":
        """The scorer for a fitted pipeline, or None when its features are not ones it reproduces exactly."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import OneHotEncoder

        from analyse.coding.autocode import PrototypeSimilarity

        ct = pipeline.named_steps["features"]
        blocks, meta, prototypes = [], [], []
        try:
            for name, tr, column in ct.transformers_:
                if tr == "drop" or name == "remainder":
                    continue
                cols = ct.output_indices_[name]
                if isinstance(tr, PrototypeSimilarity):
                    prototypes.append((column, tr, cols))
                elif isinstance(tr, TfidfVectorizer):
                    if not (isinstance(tr.min_df, int) and tr.max_features is None and tr.input == "content"
                            and tr.strip_accents is None and tr.preprocessor is None):
                        return None
                    if tr.analyzer == "char_wb":
                        block = _CharNgrams(tr)
                    elif (tr.analyzer == "word" and tr.tokenizer is str.split and not tr.lowercase
                          and tr.stop_words is None and tuple(tr.ngram_range) in ((1, 1), (1, 2))):
                        block = _WordNgrams(tr)
                    else:
                        return None
                    blocks.append((column, block, np.ascontiguousarray(coef[:, cols].T)))
                elif isinstance(tr, OneHotEncoder):
                    if tr.drop_idx_ is not None or getattr(tr, "_infrequent_enabled", False):
                        return None
                    start = cols.start
                    for col, cats in zip(column, tr.categories_):
                        meta.append((col, pd.Index(cats), np.asarray(coef[:, start:start + len(cats)].T)))
                        start += len(cats)
                else:
                    return None
            # prototype similarities are the lemma TF-IDF times a fixed matrix: their weights fold into it
            for column, tr, cols in prototypes:
                target = [k for k, (c, block, _) in enumerate(blocks) if c == column
                          and isinstance(block, _WordNgrams) and block.vec.vocabulary_ == tr.vectorizer_.vocabulary_
                          and np.array_equal(block.vec.idf_, tr.vectorizer_.idf_)
                          and tuple(block.vec.ngram_range) == tuple(tr.vectorizer_.ngram_range)]
                if len(target) != 1:
                    return None
                c, block, w = blocks[target[0]]
                blocks[target[0]] = (c, block, w + np.asarray(tr.matrix_ @ coef[:, cols].T))
        except (KeyError, ValueError):
            return None
        return cls(blocks, meta, coef, intercept)

    def decision(self, frame: pd.DataFrame) -> np.ndarray:
        """Linear scores (before the logistic function), shape ``(n, heads)``."""
        n = len(frame)
        out = np.tile(self.intercept, (n, 1))
        for column, block, w in self.blocks:
            out += block.scores(frame[column].tolist(), w)
        for column, index, w in self.meta:
            k = index.get_indexer(frame[column].astype(object).tolist())
            known = k >= 0
            out[known] += w[k[known]]
        return out

    def proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of each head (the logistic function of :meth:`decision`)."""
        from scipy.special import expit

        return expit(self.decision(frame))
