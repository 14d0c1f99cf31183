"""The benchmark project's URLs: every inbound path the benchmarks compare."""

from django.conf import settings
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rapidsms.backends.http.views import GenericHttpBackendView

from rtropo.views import message_received


@csrf_exempt
def empty(request):
    """The limit: a Django view that does nothing."""
    return HttpResponse("OK")


urlpatterns = [
    path("tropo/", message_received, {"backend_name": "tropo"}),
    path("tropo-launch/", message_received, {"backend_name": "tropo_launch"}),
    path("tropo-noconfirm/", message_received, {"backend_name": "tropo_noconfirm"}),
    path("tropo-campaign/", message_received, {"backend_name": "tropo_campaign"}),
    path("tropo-pool/", message_received, {"backend_name": "tropo_pool"}),
    path("http/", GenericHttpBackendView.as_view(backend_name="http")),
    path("empty/", empty),
]

if "tropo02" in settings.INSTALLED_BACKENDS:
    from rtropo02.views import message_received as message_received_02

    urlpatterns.append(path("tropo02/", message_received_02, {"backend_name": "tropo02"}))
