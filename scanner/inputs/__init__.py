"""Turn files into documents: parsed objects that remember where they came from."""

from scanner.inputs.document import Document, JsonPath, format_json_path, parse_json_path

__all__ = ["Document", "JsonPath", "format_json_path", "parse_json_path"]
