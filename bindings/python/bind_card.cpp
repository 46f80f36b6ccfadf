// SPDX-License-Identifier: Apache-2.0
// Python binding of the model card (calibrisk.model_card in card.py): the pipeline travels as its
// model-file text, so the card shows the same checksum and signature rows as the CLI's.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/report/card.hpp>

#include "bindings.hpp"

namespace calibrisk::pyb {

namespace py = pybind11;

void bind_card(py::module_& m) {
  m.def(
      "_model_card",
      [](const std::string& artifact_text, const std::string& model_source,
         const std::string& report_json, const std::string& spec_json,
         const std::string& validation_json, const std::string& format) {
        if (format != "html" && format != "md") {
          throw InvalidParams("model_card: format must be 'html' or 'md', got '" +
                              format.substr(0, 40) + "'.");
        }
        CardSources s;
        s.artifact_text = artifact_text;
        s.model_source = model_source;
        s.report_json = report_json;
        s.validation_json = validation_json;
        if (!spec_json.empty()) s.spec = card_spec_from_json(spec_json);
        std::string out;
        {
          py::gil_scoped_release release;
          const Pipeline pipe = load_from_string(artifact_text);
          const ModelCard card = build_model_card(pipe, s);
          out = format == "html" ? card_to_html(card) : card_to_markdown(card);
        }
        return out;
      },
      py::arg("artifact_text"), py::arg("model_source"), py::arg("report_json"),
      py::arg("spec_json"), py::arg("validation_json"), py::arg("format"),
      "Model card text from a model file's text, an optional report / spec / validation JSON.");
}

}  // namespace calibrisk::pyb
