"""BERT uncased WordPiece tokenization, equal to upstream ELECTRA's `FullTokenizer`.

Upstream (`google-research/electra`, `model/tokenization.py`) tokenizes in four steps:

1. clean: drop NUL, U+FFFD and every character of Unicode category C* except tab, newline
   and carriage return; map those three and every category-Zs character to a space;
2. (uncased) lower-case with Python's `str.lower`, NFD-normalise, drop category-Mn marks;
3. split on whitespace, on punctuation (all non-alphanumeric printable ASCII plus category P*)
   and around CJK ideographs;
4. greedy longest-match-first WordPiece with `##` continuations; a word with an unmatched
   piece, or longer than `max_chars_per_word` characters (upstream: 200), becomes `[UNK]`.

Steps 1–2 are character maps that TF-Text does differently (its lower-casing is ICU
NFKC_Casefold, which also rewrites ligatures, superscripts and full-width forms, and it
replaces control characters by spaces instead of dropping them), so we run them in Python
with the same `unicodedata` tables upstream uses. Steps 3–4 run in-graph with
`tensorflow_text.regex_split` (upstream's split classes written as RE2 patterns below) and
`tensorflow_text.WordpieceTokenizer` (upstream's WordPiece algorithm). The over-long-word rule is
applied between the two, in characters (TF-Text counts bytes).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

REQUIRED_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# Upstream's WordpieceTokenizer default (`max_input_chars_per_word=200`); Hugging Face uses 100.
UPSTREAM_MAX_CHARS_PER_WORD = 200


# Upstream `_is_punctuation`: non-alphanumeric printable ASCII, plus Unicode category P*.
_PUNCTUATION = r"[!-/:-@\[-`{-~]|\p{P}"
# Upstream `_is_chinese_char`: the CJK ideograph blocks.
_CJK = (
    r"[\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}"
    r"\x{2B740}-\x{2B81F}\x{2B820}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]"
)
# RE2 patterns for `tensorflow_text.regex_split`: split at all three, keep all but whitespace.
_KEEP_PATTERN = f"{_PUNCTUATION}|{_CJK}"
_SPLIT_PATTERN = rf"\s+|{_KEEP_PATTERN}"


class VocabError(ValueError):
    """A vocabulary file that cannot be used for BERT-style pre-training."""


def load_vocab(vocab_file: str) -> list[str]:
    """Reads a one-token-per-line vocabulary (line i is token id i), or the WordPiece vocabulary
    of a Hugging Face `tokenizer.json` (a file whose name ends in .json; `model.vocab` maps token
    → id).

    Raises:
      VocabError: the file is missing, unreadable, empty, not a WordPiece tokenizer.json, or
        lacks a required special token.
    """
    try:
        with open(vocab_file, encoding="utf-8") as f:
            if vocab_file.endswith(".json"):
                tokens = _wordpiece_json(vocab_file, f.read())
            else:
                tokens = [line.strip() for line in f]
    except FileNotFoundError:
        raise VocabError(f"vocab file not found: {vocab_file}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise VocabError(f"cannot read vocab file {vocab_file}: {e}") from None
    while tokens and not tokens[-1]:
        tokens.pop()
    if not tokens:
        raise VocabError(f"vocab file is empty: {vocab_file}")
    missing = [t for t in REQUIRED_SPECIAL_TOKENS if t not in tokens]
    if missing:
        raise VocabError(f"vocab file {vocab_file} lacks the special token(s) {' '.join(missing)}")
    return tokens


def _wordpiece_json(path: str, text: str) -> list[str]:
    """tokenizer.json's WordPiece `model.vocab` as the token list (token i = id i)."""
    import json

    try:
        model = json.loads(text).get("model") or {}
    except (ValueError, AttributeError) as e:
        raise VocabError(f"{path}: not a JSON object ({e})") from None
    if model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
        raise VocabError(f"{path}: model.type is {model.get('type')!r}; electra-tf reads WordPiece only")
    by_id = {int(i): token for token, i in model["vocab"].items()}
    if sorted(by_id) != list(range(len(by_id))):
        raise VocabError(f"{path}: the WordPiece ids are not 0..{len(by_id) - 1}")
    return [by_id[i] for i in range(len(by_id))]


@functools.cache
def _clean_action(ch: str) -> str | None:
    """Step 1 for one character: None = drop, ' ' = a space, else the character itself."""
    cat = unicodedata.category(ch)
    if ch in "\t\n\r" or cat == "Zs" or ch in "\u2028\u2029":
        # Zl/Zp are not upstream whitespace, but its final `str.split()` splits on them.
        return " "
    if ch in "\x00\ufffd" or cat.startswith("C"):
        return None
    return ch


@functools.cache
def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch) == "Mn"


# Step 1 for ASCII text: control characters dropped, \t \n \r to spaces.
_ASCII_CLEAN = {cp: _clean_action(chr(cp)) for cp in (*range(32), 127) if _clean_action(chr(cp)) != chr(cp)}


def normalize_text(text: str, do_lower_case: bool = True) -> str:
    """Steps 1–2 above: upstream's `_clean_text`, then lower-casing and accent stripping.

    Translation tables hold only the characters present in `text` (classification is cached
    per character), which keeps this fast and small for any script.
    """
    if text.isascii():
        text = text.translate(_ASCII_CLEAN)
        return text.lower() if do_lower_case else text
    text = text.translate({ord(c): _clean_action(c) for c in set(text) if _clean_action(c) != c})
    if not do_lower_case:
        return text
    text = unicodedata.normalize("NFD", text.lower())
    return text.translate({ord(c): None for c in set(text) if _is_mark(c)})


class BasicTokenizer:
    """Steps 1–3: raw texts → words (normalised, split at whitespace, punctuation and CJK)."""

    def __init__(self, do_lower_case: bool = True):
        import tensorflow as tf
        import tensorflow_text as tf_text

        self.do_lower_case = do_lower_case
        self._tf = tf
        self._tf_text = tf_text

    def split(self, texts):
        """[batch] tf.string of normalised texts → RaggedTensor [batch, (words)] tf.string."""
        return self._tf_text.regex_split(texts, _SPLIT_PATTERN, _KEEP_PATTERN)

    def normalized_tensor(self, texts: Sequence[str]):
        """Raw Python strings → [batch] tf.string after steps 1–2."""
        return self._tf.constant(
            [normalize_text(t, self.do_lower_case) for t in texts], dtype=self._tf.string
        )

    def tokenize_batch(self, texts: Sequence[str]) -> list[list[str]]:
        """Raw texts → words per text (as upstream `BasicTokenizer.tokenize`)."""
        if not texts:
            return []
        words = self.split(self.normalized_tensor(texts)).to_list()
        return [[w.decode("utf-8") for w in ws] for ws in words]


class FullTokenizer:
    """Text → WordPiece ids, token-for-token equal to upstream `FullTokenizer`.

    Args:
      vocab: the vocabulary as a list (index = id), e.g. from `load_vocab`.
      do_lower_case: lower-case and strip accents (the uncased models).
      max_chars_per_word: longer words become `[UNK]` (upstream 200).
    """

    def __init__(
        self,
        vocab: Sequence[str],
        do_lower_case: bool = True,
        max_chars_per_word: int = UPSTREAM_MAX_CHARS_PER_WORD,
    ):
        import tensorflow as tf
        import tensorflow_text as tf_text

        self._tf = tf
        self.basic = BasicTokenizer(do_lower_case)
        self.vocab = list(vocab)
        self.token_to_id = {t: i for i, t in enumerate(self.vocab)}
        self.do_lower_case = do_lower_case
        self.max_chars_per_word = max_chars_per_word
        self.unk_id = self.token_to_id["[UNK]"]
        table = tf.lookup.StaticVocabularyTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(self.vocab), tf.range(len(self.vocab), dtype=tf.int64)
            ),
            num_oov_buckets=1,
        )
        self._wordpiece = tf_text.WordpieceTokenizer(
            table,
            suffix_indicator="##",
            # Bytes; the character limit is applied before WordPiece (4 bytes per char at most).
            max_bytes_per_word=4 * max_chars_per_word,
            unknown_token="[UNK]",
            token_out_type=tf.int64,
        )
        self._tokenize_graph = tf.function(
            self._tokenize_normalized,
            input_signature=[tf.TensorSpec([None], tf.string)],
        )

    def _tokenize_normalized(self, texts):
        """[batch] normalised strings → RaggedTensor [batch, (pieces)] int64 ids."""
        tf = self._tf
        words = self.basic.split(texts)  # [batch, (words)]
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > self.max_chars_per_word
        words = words.with_flat_values(tf.where(too_long, "[UNK]", words.flat_values))
        pieces = self._wordpiece.tokenize(words)  # [batch, (words), (pieces)]
        return pieces.merge_dims(1, 2)

    def tokenize_to_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Tokenizes a batch of raw texts; returns one id list per text."""
        if not texts:
            return []
        return self._tokenize_graph(self.basic.normalized_tensor(texts)).to_list()

    def tokenize(self, text: str) -> list[str]:
        """One text → WordPiece strings (as upstream `FullTokenizer.tokenize`)."""
        return self.convert_ids_to_tokens(self.tokenize_to_ids([text])[0])

    def convert_tokens_to_ids(self, tokens: Sequence[str]) -> list[int]:
        return [self.token_to_id[t] for t in tokens]

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        return [self.vocab[i] for i in ids]
