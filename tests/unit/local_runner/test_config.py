import pytest

from local_runner.config import read_env_file


def write(tmp_path, text: str) -> str:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_env_file_reads_key_value_lines(tmp_path):
    assert read_env_file(write(tmp_path, "A=1\nB_C = two words \n")) == {"A": "1", "B_C": "two words"}


def test_env_file_skips_comments_and_blank_lines(tmp_path):
    assert read_env_file(write(tmp_path, "# comment\n\n   \n  # indented\nA=1\n")) == {"A": "1"}


def test_env_file_accepts_export_prefix(tmp_path):
    assert read_env_file(write(tmp_path, "export API_KEY=abc\n")) == {"API_KEY": "abc"}


@pytest.mark.parametrize(
    ("raw", "value"), [('"a b"', "a b"), ("'a#b'", "a#b"), ('""', ""), ('"', '"'), ("'a\"", "'a\"")]
)
def test_env_file_strips_matching_quotes_only(tmp_path, raw, value):
    assert read_env_file(write(tmp_path, f"A={raw}\n")) == {"A": value}


def test_env_file_keeps_equals_signs_in_values(tmp_path):
    assert read_env_file(write(tmp_path, "URL=http://h/?a=b\n")) == {"URL": "http://h/?a=b"}


def test_env_file_later_value_wins(tmp_path):
    assert read_env_file(write(tmp_path, "A=1\nA=2\n")) == {"A": "2"}


def test_env_file_empty_value_is_kept(tmp_path):
    assert read_env_file(write(tmp_path, "API_KEY=\n")) == {"API_KEY": ""}


@pytest.mark.parametrize("line", ["JUSTAKEY", "=value", "BAD-KEY=1", "A B=1"])
def test_env_file_bad_line_names_file_and_line(tmp_path, line):
    path = write(tmp_path, f"OK=1\n{line}\n")
    with pytest.raises(ValueError) as err:
        read_env_file(path)
    assert str(err.value).startswith(f"{path}:2:")
