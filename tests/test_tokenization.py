"""Tokenization against hand-computed cases and Hugging Face's independent BERT tokenizer."""

from __future__ import annotations

import json

import pytest

from electra_tf.tokenization import (
    UPSTREAM_MAX_CHARS_PER_WORD,
    FullTokenizer,
    VocabError,
    load_vocab,
    normalize_text,
)
from tests.helpers import corpus_file

TINY_VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "un",
    "##aff",
    "##able",
    "hello",
    ",",
    "!",
    "cafe",
    "a",
    "##a",
    "的",
    "x",
]


@pytest.fixture(scope="module")
def tiny_tokenizer():
    return FullTokenizer(TINY_VOCAB)


def test_normalize_text_matches_upstream_character_rules():
    # Control characters (Cc, Cf: soft hyphen, zero-width space) are dropped, not spaced.
    assert normalize_text("co\u00adop\u200beration\x00\ufffd") == "cooperation"
    # Tab/newline/CR and Zs spaces (no-break, thin) become plain spaces.
    assert normalize_text("a\tb\nc\rd\u00a0e\u2009f") == "a b c d e f"
    # Lower-casing with str.lower, then NFD and no Mn marks: accents go, ligatures stay.
    assert normalize_text("Café NAÏVE Ångström") == "cafe naive angstrom"
    assert normalize_text("\ufb01") == "\ufb01"  # NFKC_Casefold would give 'fi'
    assert normalize_text("İ") == "i"  # 'i' + U+0307, the mark dropped
    assert normalize_text("Café", do_lower_case=False) == "Café"


def test_wordpiece_greedy_longest_match(tiny_tokenizer):
    assert tiny_tokenizer.tokenize("UNaffable, hello!") == ["un", "##aff", "##able", ",", "hello", "!"]
    # A word with an unmatchable piece becomes one [UNK]; accents are stripped before lookup.
    assert tiny_tokenizer.tokenize("unaffablez Café") == ["[UNK]", "cafe"]
    # CJK ideographs are split into single characters.
    assert tiny_tokenizer.tokenize("x的x") == ["x", "的", "x"]


def test_overlong_word_is_unk_by_characters(tiny_tokenizer):
    limit = UPSTREAM_MAX_CHARS_PER_WORD
    assert tiny_tokenizer.tokenize("a" * limit) == ["a"] + ["##a"] * (limit - 1)
    assert tiny_tokenizer.tokenize("a" * (limit + 1)) == ["[UNK]"]
    # 'á' is 2 bytes in UTF-8 but one character: the limit counts characters, as upstream.
    assert tiny_tokenizer.tokenize("á" * limit) == ["a"] + ["##a"] * (limit - 1)


def test_load_vocab_errors(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(VocabError, match="not found"):
        load_vocab(str(missing))
    bad = tmp_path / "vocab.txt"
    bad.write_text("[PAD]\n[UNK]\nhello\n", encoding="utf-8")
    with pytest.raises(VocabError, match=r"\[CLS\] \[SEP\] \[MASK\]"):
        load_vocab(str(bad))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(VocabError, match="empty"):
        load_vocab(str(empty))


# ---- against an independent reference -------------------------------------------------------


def _reference_tokenizer(vocab):
    """Hugging Face `tokenizers` (Rust) configured as upstream's BERT FullTokenizer."""
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import normalizers, pre_tokenizers
    from tokenizers.models import WordPiece

    ref = tokenizers.Tokenizer(
        WordPiece(
            {t: i for i, t in enumerate(vocab)},
            unk_token="[UNK]",
            max_input_chars_per_word=UPSTREAM_MAX_CHARS_PER_WORD,
        )
    )
    ref.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True
    )
    ref.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return lambda lines: [e.ids for e in ref.encode_batch(lines, add_special_tokens=False)]


@pytest.fixture(scope="module")
def bert_pair(bert_vocab_file):
    vocab = load_vocab(bert_vocab_file)
    return FullTokenizer(vocab), _reference_tokenizer(vocab)


def test_tricky_strings_match_reference(bert_pair):
    ours, ref = bert_pair
    lines = [
        "Héllo, WORLD!! It's 3.14 — “quoted” text…",
        "Zürich\u00a0Straße; naïve café résumé ÅNGSTRÖM",
        "日本語のテキスト and 中文 mixed with English",
        "soft\u00adhyphen zero\u200bwidth tab\there",
        "emoji 😀 and symbols © ® ™ ½ ² µ",
        "Ελληνικά Русский العربية עברית हिन्दी",
        "hyper-parameters (e.g. lr=5e-4) [see §3.2] {x|y} ~tilde^ `tick` $5 #tag @user",
        "",
        "   ",
    ]
    assert ours.tokenize_to_ids(lines) == ref(lines)


def test_corpus_agrees_with_reference_on_ten_shards(bert_pair, shared_corpus):
    """Acceptance: token-for-token equal on >= 99.9% of the lines of 10 corpus shards."""
    ours, ref = bert_pair
    total = agree = 0
    for shard in range(0, 100, 10):
        with open(corpus_file(shard), encoding="utf-8") as f:
            lines = [line.strip() for line in f]
        lines = [x for x in lines if x and not x.startswith("<doc") and x != "</doc>"]
        got, want = ours.tokenize_to_ids(lines), ref(lines)
        total += len(lines)
        agree += sum(a == b for a, b in zip(got, want, strict=True))
    assert total > 25_000
    assert agree / total >= 0.999, f"{total - agree} of {total} lines differ"


def test_load_vocab_reads_a_hugging_face_tokenizer_json(tmp_path):
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "##s"]
    path = tmp_path / "tokenizer.json"
    shuffled = {t: i for i, t in reversed(list(enumerate(tokens)))}  # JSON order is not id order
    path.write_text(json.dumps({"model": {"type": "WordPiece", "vocab": shuffled}}), encoding="utf-8")
    assert load_vocab(str(path)) == tokens
    path.write_text(json.dumps({"model": {"type": "BPE", "vocab": shuffled}}), encoding="utf-8")
    with pytest.raises(
        VocabError, match=r"tokenizer\.json: model\.type is 'BPE'; electra-tf reads WordPiece only$"
    ):
        load_vocab(str(path))
    gap = {**shuffled, "the": 9}
    path.write_text(json.dumps({"model": {"type": "WordPiece", "vocab": gap}}), encoding="utf-8")
    with pytest.raises(VocabError, match=r"the WordPiece ids are not 0\.\.6$"):
        load_vocab(str(path))
