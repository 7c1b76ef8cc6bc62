package operation

import (
	"testing"

	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/render"
)

func TestForget(t *testing.T) {
	e := &model.Environment{Services: []model.EnvService{{
		Name: "shop",
		Containers: []model.Container{
			{Name: "web", Image: "a:1"}, // set at create: never superseded
			{Name: "web", Image: "x:2", Workload: "Deployment/web", Base: "nginx:1"},
			{Name: "api", Image: "y:2", Workload: "Deployment/api", Base: "api:1"},
			{Name: "old", Image: "z:2", Workload: "Deployment/old", Base: "old:1"},
		},
		Replicas: []model.Replicas{{Workload: "Deployment/web", Replicas: 3, Last: 3}, {Workload: "Deployment/old", Replicas: 0, Last: 2}},
	}, {Name: "other", Containers: []model.Container{{Name: "web", Image: "x:2", Workload: "Deployment/web", Base: "nginx:1"}}}}}
	Forget(e, []render.Superseded{
		{Service: "shop", Image: render.Image{Workload: "Deployment/web", Container: "web", Image: "x:2", Base: "nginx:1"}},
		{Service: "shop", Gone: "Deployment/old"},
	})
	shop := e.Services[0]
	if len(shop.Containers) != 2 || shop.Containers[0].Image != "a:1" || shop.Containers[1].Name != "api" {
		t.Errorf("containers %+v", shop.Containers)
	}
	if len(shop.Replicas) != 1 || shop.Replicas[0].Workload != "Deployment/web" {
		t.Errorf("replicas %+v", shop.Replicas)
	}
	if len(e.Services[1].Containers) != 1 {
		t.Errorf("another service's override went: %+v", e.Services[1].Containers)
	}
}
