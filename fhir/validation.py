"""Resources in request bodies, validated with fhir.resources' R4B models: anything that is not
valid FHIR is a 400 OperationOutcome naming where the problems are (never the values sent)."""

from pydantic import ValidationError

from fhir.outcomes import FhirError

MOST_PROBLEMS_NAMED = 5


def problems(error):
    """A pydantic ValidationError's problems, by where they are, without the values sent."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
        for problem in error.errors()[:MOST_PROBLEMS_NAMED]
    )


def valid_model(model_class, data):
    """`data` as the R4B model `model_class`; 400 if it is not valid FHIR."""
    try:
        return model_class.model_validate(data)
    except ValidationError as error:
        raise FhirError(
            f"The {model_class.__name__} is not valid FHIR R4: {problems(error)}",
            issue="structure",
        ) from None
    except (KeyError, TypeError):
        # fhir.resources finds the class of a resource inside another (`contained`, a
        # Parameters' `resource`) by its resourceType, and fails so for an unknown or
        # non-text one, before pydantic could call it invalid.
        raise FhirError(
            "A resource inside it has no known resourceType.", issue="structure"
        ) from None
