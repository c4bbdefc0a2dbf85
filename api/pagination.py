"""The one way lists are paged: ?page=N (from 1) and ?page_size=M (at most 100), answered as
{"count": total, "next": URL or null, "previous": URL or null, "results": [...]}."""

from rest_framework import pagination

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    # A page past the end is a 404 in the error shape ("not_found"), as REST framework does.
