# fhir.resources installs a package named `fhir` too; extending our package's path lets
# `fhir.resources` be found beside this app's modules.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
