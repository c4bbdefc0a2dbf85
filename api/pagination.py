"""The one way lists are paged: ?page=N (from 1) and ?page_size=M (at most 100), answered as
{"count": total, "next": URL or null, "previous": URL or null, "results": [...]}.

A page_size that is not a whole number from 1, or either parameter given twice, is a 400
("invalid", with the field): a client that sent it has a bug, and a silent default would hide
it. A page_size over 100 is capped, as documented."""

import re

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Nine digits at most: int() of a huge string is slow (and refused past 4300 digits).
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def single_query_value(request, name):
    """The one value of query parameter `name` (None if absent); given twice, a 400."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValidationError({name: ["Give this parameter once."]})
    return values[0] if values else None


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    # A page past the end is a 404 in the error shape ("not_found"), as REST framework does.

    def get_page_number(self, request, paginator):
        single_query_value(request, self.page_query_param)
        return super().get_page_number(request, paginator)

    def get_page_size(self, request):
        value = single_query_value(request, self.page_size_query_param)
        if value is None:
            return self.page_size
        if not WHOLE_NUMBER.fullmatch(value) or int(value) < 1:
            raise ValidationError({self.page_size_query_param: ["Give a whole number from 1."]})
        return min(int(value), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page, 1 to {MAX_PAGE_SIZE} (more is capped)."
                )
        return parameters
