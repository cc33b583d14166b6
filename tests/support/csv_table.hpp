// Reading the verdict tables of ../shared (kernel-verdicts.csv, manifest.csv):
// a header line, then rows with quoted fields ("a, b" stays one field; a
// doubled quote inside quotes is one quote). Rows are looked up by column name,
// so a table that gains columns does not break the tests reading it.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace bpfvet::test_support {

inline std::vector<std::string> split_csv_line(const std::string& line) {
    std::vector<std::string> fields;
    std::string field;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (c == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"') field += '"', ++i;
        else if (c == '"') quoted = !quoted;
        else if (c == ',' && !quoted) fields.push_back(std::move(field)), field.clear();
        else if (c != '\r') field += c;
    }
    fields.push_back(std::move(field));
    return fields;
}

// One row: column name -> field ("" for a column the row is too short for).
class CsvRow {
public:
    CsvRow(const std::map<std::string, size_t>* columns, std::vector<std::string> fields)
        : columns_(columns), fields_(std::move(fields)) {}
    [[nodiscard]] const std::string& operator[](const std::string& column) const {
        static const std::string empty;
        auto it = columns_->find(column);
        return it == columns_->end() || it->second >= fields_.size() ? empty : fields_[it->second];
    }

private:
    const std::map<std::string, size_t>* columns_;
    std::vector<std::string> fields_;
};

class CsvTable {
public:
    explicit CsvTable(const std::filesystem::path& path) {
        std::ifstream in(path);
        std::string line;
        if (!std::getline(in, line)) return;
        const auto header = split_csv_line(line);
        for (size_t i = 0; i < header.size(); ++i) columns_[header[i]] = i;
        while (std::getline(in, line))
            if (!line.empty()) rows_.emplace_back(&columns_, split_csv_line(line));
    }
    CsvTable(const CsvTable&) = delete;  // rows point at columns_
    CsvTable& operator=(const CsvTable&) = delete;

    [[nodiscard]] const std::vector<CsvRow>& rows() const { return rows_; }

private:
    std::map<std::string, size_t> columns_;
    std::vector<CsvRow> rows_;
};

}  // namespace bpfvet::test_support
